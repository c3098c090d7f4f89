"""Image environments end to end through the admin API and the CLI, with the real tools:
a registry import, a wrong password, an uploaded archive (and a file that is not one), a
build from the cached Debian base; each failure leaves `failed`, its message and no image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shipyard.config import Settings
from shipyard.environments.image_jobs import jobs_of
from shipyard.environments.images.store import ImageStore
from tests.api.test_sessions_api import bearer
from tests.cli_helpers import CliAs, cli_as_fixture, served_fixture  # noqa: F401
from tests.conftest import AppWith
from tests.factories import Factory
from tests.images.conftest import CACHE_DIR, Registry, run

IMAGES = "/api/v1/admin/environments/images"
JOB_SECONDS = 240


@pytest.fixture
def app_with_cache(app_with: AppWith) -> FastAPI:
    """Builds reuse the lane's cached Debian bases."""
    return app_with(image_build_cache=CACHE_DIR)


@pytest.fixture
def headers(app_with_cache: FastAPI, client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.admin())


@pytest.fixture
def image_store(settings: Settings) -> ImageStore:
    return ImageStore.in_data_dir(settings.data_dir)


def started(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Start a job, wait for it to end, and return the environment as the API shows it."""
    answer = client.post(IMAGES, json=body, headers=headers)
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] in ("importing", "building")
    jobs_of(client.app.state).join(JOB_SECONDS)  # type: ignore[attr-defined]
    shown: dict[str, Any] = client.get(f"{IMAGES}/{body['name']}", headers=headers).json()
    return shown


def registry_body(name: str, registry: Registry, pushed: str, password: str) -> dict[str, Any]:
    source = {"reference": pushed, "username": registry.user, "password": password,
              "insecure": True}  # fmt: skip
    return {"name": name, "description": "busybox", "source": {"registry": source}}


def test_a_registry_import_becomes_ready_and_is_offered(
    client: TestClient, headers: dict[str, str], registry: Registry, pushed: str,
    image_store: ImageStore,
) -> None:  # fmt: skip
    env = started(client, headers, registry_body("bb", registry, pushed, registry.password))
    assert env["status"] == "ready", env
    info = image_store.info(env["image_ref"])
    assert (env["image_digest"], env["size"]) == (info.digest, info.size)
    assert env["error"] == ""
    assert registry.password not in str(env)
    log = client.get(f"{IMAGES}/bb/log", headers=headers).json()["log"]
    assert "Copying blob" in log
    offered = {e["name"]: e for e in client.get("/api/v1/environments", headers=headers).json()}
    assert offered["bb"] | {"description": ""} == {
        "name": "bb", "description": "", "apps": ["terminal"], "kind": "image",
        "status": "ready", "size": info.size, "digest": info.digest,
    }  # fmt: skip
    assert client.delete(f"{IMAGES}/bb", headers=headers).status_code == 204
    assert image_store.refs() == []
    assert client.get(f"{IMAGES}/bb", headers=headers).status_code == 404


def test_a_wrong_password_fails_with_the_reason_and_stores_nothing(
    client: TestClient, headers: dict[str, str], registry: Registry, pushed: str,
    image_store: ImageStore,
) -> None:  # fmt: skip
    env = started(client, headers, registry_body("nope", registry, pushed, "wrong-password"))
    assert env["status"] == "failed"
    assert "refused access" in env["error"]
    assert "user name and password" in env["error"]
    assert env["image_digest"] is None
    assert image_store.refs() == []
    log = client.get(f"{IMAGES}/nope/log", headers=headers).json()["log"]
    assert env["error"] in log
    assert client.delete(f"{IMAGES}/nope", headers=headers).status_code == 204


def test_an_uploaded_archive_is_imported_and_a_non_image_fails(
    client: TestClient, headers: dict[str, str], settings: Settings, busybox_layout: Path,
    image_store: ImageStore,
) -> None:  # fmt: skip
    uploads = settings.data_dir / "image-uploads"
    uploads.mkdir(parents=True)
    run("skopeo", "copy", f"oci:{busybox_layout}:bb", f"docker-archive:{uploads / 'bb.tar'}")
    (uploads / "notes.tar").write_bytes(b"just some text, not a tar")
    good = started(client, headers, {"name": "saved", "source": {"archive": {"file": "bb.tar"}}})
    assert good["status"] == "ready", good
    assert image_store.info(good["image_ref"]).config.cmd[-1] == "echo hello from busybox"
    bad = started(client, headers, {"name": "junk", "source": {"archive": {"file": "notes.tar"}}})
    assert bad["status"] == "failed"
    assert "not an image archive" in bad["error"]
    assert image_store.refs() == [good["image_ref"]]


def test_a_build_from_the_cached_base_is_ready_and_a_typo_fails(
    client: TestClient, headers: dict[str, str], image_store: ImageStore
) -> None:
    body = {"name": "deb", "description": "Debian", "source": {"build": {"packages": ["python3"]}}}
    env = started(client, headers, body)
    assert env["status"] == "ready", env
    assert env["source"]["build"]["packages"] == ["python3"]
    assert image_store.info(env["image_ref"]).config.labels["ai.shipyard.debian.packages"] == (
        "python3"
    )
    typo = {"name": "typo", "source": {"build": {"packages": ["python3", "pythn3-nosuch"]}}}
    failed = started(client, headers, typo)
    assert failed["status"] == "failed"
    assert "pythn3-nosuch" in failed["error"]
    assert image_store.refs() == [env["image_ref"]]


def test_the_cli_imports_follows_shows_and_deletes(
    client: TestClient, headers: dict[str, str], factory: Factory, cli_as: CliAs,
    registry: Registry, pushed: str, image_store: ImageStore,
) -> None:  # fmt: skip
    cli = cli_as(factory.admin())
    out = cli.ok("env", "import", "from-cli", "--registry", pushed, "--username", registry.user,
                 "--password-stdin", "--insecure", stdin=registry.password + "\n")  # fmt: skip
    assert "from-cli importing" in out
    followed = cli.ok("env", "logs", "-f", "from-cli")
    assert "Copying blob" in followed
    assert "environment from-cli ready" in followed
    shown = cli.json("env", "info", "from-cli")
    assert shown["status"] == "ready"
    assert shown["image_digest"] == image_store.info(shown["image_ref"]).digest
    listed = cli.json("env", "list")
    assert {"from-cli", "python"} <= {env["name"] for env in listed}
    assert "from-cli" in cli.ok("env", "list")
    assert "environment from-cli deleted" in cli.ok("env", "delete", "from-cli")
    assert "Unknown image environment" in cli.fails("env", "info", "from-cli")
    user = cli_as(factory.user())
    assert "admin" in user.fails("env", "build", "mine").lower()
