"""Copying from a registry: a real docker-registry on loopback, with htpasswd auth."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from shipyard.environments.images.progress import Progress
from shipyard.environments.images.registry import (
    RegistryCredentials,
    RegistrySource,
    copy_from_registry,
)
from shipyard.environments.images.store import ImageStore
from shipyard.errors import AuthenticationFailed, InvalidInput, NotFound
from tests.images.conftest import Recorder, Registry, leftovers, run


def source(registry: Registry, reference: str, *, password: str | None = None) -> RegistrySource:
    credentials = RegistryCredentials(registry.user, password or registry.password)
    return RegistrySource(reference, credentials=credentials, insecure=True)


def command_lines() -> list[bytes]:
    lines = []
    for proc in Path("/proc").iterdir():
        try:
            lines.append((proc / "cmdline").read_bytes())
        except OSError:
            continue
    return lines


def test_copy_with_credentials_stores_the_image_as_the_registry_has_it(
    store: ImageStore, registry: Registry, pushed: str, progress: Recorder
) -> None:
    seen_on_command_lines: list[bool] = []

    def watch(report: Progress) -> None:
        progress(report)
        seen_on_command_lines.append(
            any(registry.password.encode() in line for line in command_lines())
        )

    info = copy_from_registry(store, source(registry, pushed), ref="busybox", on_progress=watch)

    remote = run("skopeo", "inspect", "--raw", "--tls-verify=false",
                 f"--creds={registry.user}:{registry.password}", f"docker://{pushed}")  # fmt: skip
    assert info.digest == "sha256:" + hashlib.sha256(remote.encode()).hexdigest()
    assert store.refs() == ["busybox"]
    assert info.config.cmd == ("/bin/sh", "-c", "echo hello from busybox")
    assert "GREETING=hello" in info.config.env
    assert info.config.working_dir == "/srv"
    assert info.config.labels["ai.shipyard.apps"] == "terminal"
    assert info.size == sum(layer.size for layer in info.layers) + len(remote) + _config_size(
        store, info.config_digest
    )
    assert any("Copying blob" in line for line in progress.lines)
    assert seen_on_command_lines
    assert not any(seen_on_command_lines), "the password showed on a command line"
    assert list(store.staging_root.iterdir()) == [], "the auth file and staging were not removed"
    # The store is a plain OCI layout: skopeo reads the image back by its ref.
    local = json.loads(run("skopeo", "inspect", f"oci:{store.layout}:busybox"))
    assert local["Digest"] == info.digest


def _config_size(store: ImageStore, digest: str) -> int:
    return store.blob_path(digest).stat().st_size


def test_wrong_password_is_refused_clearly_and_stores_nothing(
    store: ImageStore, registry: Registry, pushed: str, progress: Recorder
) -> None:
    with pytest.raises(AuthenticationFailed, match=r"refused access.*user name and password"):
        copy_from_registry(
            store, source(registry, pushed, password="wrong"), ref="bb", on_progress=progress
        )
    assert leftovers(store) == []


def test_no_credentials_for_a_private_registry_is_refused(
    store: ImageStore, registry: Registry, pushed: str, progress: Recorder
) -> None:
    anonymous = RegistrySource(pushed, insecure=True)
    with pytest.raises(AuthenticationFailed):
        copy_from_registry(store, anonymous, ref="bb", on_progress=progress)
    assert leftovers(store) == []


def test_unknown_registry_host_is_named(store: ImageStore, progress: Recorder) -> None:
    unknown = RegistrySource("registry.nonexistent.invalid/team/image:1")
    with pytest.raises(
        InvalidInput, match=r"Unknown registry host: registry\.nonexistent\.invalid"
    ):
        copy_from_registry(store, unknown, ref="bb", on_progress=progress)
    assert leftovers(store) == []


def test_tls_is_required_unless_the_source_is_marked_insecure(
    store: ImageStore, registry: Registry, pushed: str, progress: Recorder
) -> None:
    credentials = RegistryCredentials(registry.user, registry.password)
    with pytest.raises(InvalidInput, match="plain HTTP"):
        copy_from_registry(
            store, RegistrySource(pushed, credentials=credentials), ref="bb", on_progress=progress
        )
    assert leftovers(store) == []


def test_an_image_the_registry_lacks_is_not_found(
    store: ImageStore, registry: Registry, pushed: str, progress: Recorder
) -> None:
    missing = source(registry, f"{registry.host}/tests/nothing-here:1")
    with pytest.raises(NotFound, match="has no image"):
        copy_from_registry(store, missing, ref="bb", on_progress=progress)
    assert leftovers(store) == []


@pytest.mark.parametrize(
    "reference", ["--src-creds=x:y", "docker://host/image", "host/image name", "", "a/b\nc"]
)
def test_a_reference_that_is_not_one_is_refused_before_skopeo_runs(reference: str) -> None:
    with pytest.raises(InvalidInput, match="Not an image reference"):
        RegistrySource(reference)


def test_docker_hub_names_key_the_auth_file_by_docker_io() -> None:
    assert RegistrySource("library/debian:12").host == "docker.io"
    assert RegistrySource("debian").host == "docker.io"
    assert RegistrySource("localhost/x").host == "localhost"
    assert RegistrySource("registry.example.org:5000/x/y@sha256:" + "a" * 64).host == (
        "registry.example.org:5000"
    )
