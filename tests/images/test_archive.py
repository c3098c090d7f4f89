"""Importing uploaded archives: `docker save` tars and OCI archives, and what is not one."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from shipyard.environments.images.archive import ArchiveFormat, detect_format, import_archive
from shipyard.environments.images.store import ImageStore
from shipyard.errors import Conflict, InvalidInput
from tests.images.conftest import Recorder, leftovers, run


@pytest.fixture(scope="session")
def docker_archive(busybox_layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `docker save` writes, made by skopeo from the busybox layout."""
    path = tmp_path_factory.mktemp("archives") / "busybox-docker.tar"
    run("skopeo", "copy", f"oci:{busybox_layout}:bb", f"docker-archive:{path}:busybox:1")
    return path


@pytest.fixture(scope="session")
def oci_archive(busybox_layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("archives") / "busybox-oci.tar"
    run("skopeo", "copy", f"oci:{busybox_layout}:bb", f"oci-archive:{path}")
    return path


def test_a_docker_save_archive_is_imported_with_its_command(
    store: ImageStore, docker_archive: Path, progress: Recorder
) -> None:
    assert detect_format(docker_archive) is ArchiveFormat.DOCKER

    info = import_archive(store, docker_archive, ref="uploaded", on_progress=progress)

    assert store.refs() == ["uploaded"]
    assert info.config.cmd == ("/bin/sh", "-c", "echo hello from busybox")
    assert info.config.labels == {"ai.shipyard.apps": "terminal"}
    assert info.size > docker_archive.stat().st_size // 4
    assert any("Writing manifest" in line for line in progress.lines)
    sizes = [r for r in progress.reports if r.done is not None]
    assert sizes, "bytes done are reported"
    assert {r.total for r in sizes} == {docker_archive.stat().st_size}
    assert 0 < (sizes[-1].done or 0) <= docker_archive.stat().st_size
    assert list(store.staging_root.iterdir()) == []


def test_an_oci_archive_is_imported(
    store: ImageStore, oci_archive: Path, busybox_layout: Path, progress: Recorder
) -> None:
    assert detect_format(oci_archive) is ArchiveFormat.OCI

    info = import_archive(store, oci_archive, ref="from-oci", on_progress=progress)

    original = json.loads(run("skopeo", "inspect", f"oci:{busybox_layout}:bb"))
    assert info.digest == original["Digest"], "an OCI archive keeps the manifest as it was"
    assert info.config.env == ("GREETING=hello",)


def test_a_file_that_is_not_a_tar_is_refused_clearly(
    store: ImageStore, tmp_path: Path, progress: Recorder
) -> None:
    junk = tmp_path / "holiday.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0" + b"not an image archive" * 100)
    with pytest.raises(InvalidInput, match="not an image archive"):
        import_archive(store, junk, ref="junk", on_progress=progress)
    assert leftovers(store) == []


def test_a_tar_without_an_image_in_it_is_refused(
    store: ImageStore, tmp_path: Path, progress: Recorder
) -> None:
    plain = tmp_path / "backup.tar"
    with tarfile.open(plain, "w") as archive:
        _add(archive, "notes/readme.txt", b"hello")
    with pytest.raises(InvalidInput, match="not an image archive"):
        import_archive(store, plain, ref="plain", on_progress=progress)
    assert leftovers(store) == []


def test_a_damaged_docker_archive_is_refused_and_stores_nothing(
    store: ImageStore, tmp_path: Path, progress: Recorder
) -> None:
    damaged = tmp_path / "damaged.tar"
    manifest = [{"Config": "config.json", "RepoTags": ["x:1"], "Layers": ["missing/layer.tar"]}]
    with tarfile.open(damaged, "w") as archive:
        _add(archive, "manifest.json", json.dumps(manifest).encode())
        _add(archive, "config.json", b"{}")
    with pytest.raises(InvalidInput, match="could not be read as an image"):
        import_archive(store, damaged, ref="damaged", on_progress=progress)
    assert leftovers(store) == []


def test_an_existing_name_is_kept_unless_replacing(
    store: ImageStore, docker_archive: Path, oci_archive: Path, progress: Recorder
) -> None:
    first = import_archive(store, docker_archive, ref="same", on_progress=progress)
    with pytest.raises(Conflict, match="already exists"):
        import_archive(store, oci_archive, ref="same", on_progress=progress)
    assert store.info("same").digest == first.digest

    second = import_archive(store, oci_archive, ref="same", on_progress=progress, replace=True)

    assert store.info("same").digest == second.digest != first.digest
    assert not store.layout.joinpath("blobs", "sha256", first.digest[7:]).exists()


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    member = tarfile.TarInfo(name)
    member.size = len(data)
    archive.addfile(member, io.BytesIO(data))
