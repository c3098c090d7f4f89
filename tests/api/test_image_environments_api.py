"""Image environments through the admin API, without the image tools: who may, bad input,
refusals, a restart's interrupted jobs, and credentials kept encrypted."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.config import Settings
from shipyard.db import Database
from shipyard.environments import secrets
from shipyard.environments.image_jobs import WORKER, mark_interrupted
from shipyard.environments.models import Environment, EnvironmentKind, EnvironmentStatus
from shipyard.errors import InvalidInput
from tests.api.test_sessions_api import bearer
from tests.factories import Factory

IMAGES = "/api/v1/admin/environments/images"
REGISTRY = {"registry": {"reference": "127.0.0.1:1/team/image:1", "insecure": True}}


class Held:
    """An ImageJobs double that keeps what it was asked to start (nothing runs)."""

    def __init__(self) -> None:
        self.started: list[uuid.UUID] = []

    def submit(self, env_id: uuid.UUID) -> None:
        self.started.append(env_id)


@pytest.fixture
def held(client: TestClient) -> Held:
    jobs = Held()
    client.app.state.image_jobs = jobs  # type: ignore[attr-defined]
    return jobs


@pytest.fixture
def headers(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.admin())


def image_env(database: Database, name: str, status: EnvironmentStatus, **fields: Any) -> None:
    with database.session() as db:
        db.add(
            Environment(
                name=name, kind=EnvironmentKind.IMAGE, status=status,
                image_ref=f"env-{uuid.uuid4().hex}", apps=["terminal"], **fields,
            )
        )  # fmt: skip
        db.commit()


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", IMAGES), ("GET", f"{IMAGES}/x"), ("GET", f"{IMAGES}/x/log"),
     ("DELETE", f"{IMAGES}/x")],
)  # fmt: skip
def test_normal_users_are_refused(
    client: TestClient, factory: Factory, held: Held, method: str, path: str
) -> None:
    user = bearer(client, factory.user())
    body = {"name": "img", "source": REGISTRY}
    assert client.request(method, path, headers=user, json=body).status_code == 403
    assert held.started == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "bad name", "source": REGISTRY}, "name"),
        ({"name": "img", "source": {}}, "source"),
        ({"name": "img", "source": {**REGISTRY, "build": {}}}, "source"),
        ({"name": "img", "source": {"registry": {"reference": "x", "username": "u"}}}, "source"),
        ({"name": "img", "source": {"build": {"packages": ["Bad Pkg"]}}}, "packages"),
        ({"name": "img", "source": {"build": {"suite": "../etc"}}}, "suite"),
        ({"name": "img", "source": {"archive": {"file": "../../etc/passwd"}}}, "file"),
        ({"name": "img", "source": {"registry": {"reference": "--src-creds=a:b"}}}, "reference"),
        ({"name": "img", "source": {"archive": {"file": "missing.tar"}}}, "file"),
        ({"name": "img", "source": {"build": {"requirements": ["-e /root"]}}}, "build"),
    ],
)
def test_bad_input_is_refused_with_its_field_and_starts_nothing(
    client: TestClient, headers: dict[str, str], held: Held, body: dict[str, Any], field: str
) -> None:
    answer = client.post(IMAGES, json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert field in answer.text
    assert held.started == []
    names = [env["name"] for env in client.get("/api/v1/environments", headers=headers).json()]
    assert names == ["python"]


def test_an_upload_that_is_a_link_is_refused(
    client: TestClient, headers: dict[str, str], held: Held, settings: Settings
) -> None:
    uploads = settings.data_dir / "image-uploads"
    uploads.mkdir(parents=True)
    victim = settings.data_dir / "victim.tar"
    victim.write_bytes(b"not for import")
    (uploads / "link.tar").symlink_to(victim)
    body = {"name": "img", "source": {"archive": {"file": "link.tar"}}}
    answer = client.post(IMAGES, json=body, headers=headers)
    assert answer.status_code == 422
    assert "no uploaded file" in answer.json()["error"]["message"]


def test_credentials_are_stored_encrypted_and_never_shown(
    client: TestClient, headers: dict[str, str], held: Held, database: Database, settings: Settings
) -> None:
    source = {"registry": {**REGISTRY["registry"], "username": "alice", "password": "s3cret-pw"}}
    answer = client.post(IMAGES, json={"name": "img", "source": source}, headers=headers)
    assert answer.status_code == 202, answer.text
    shown = answer.json()
    assert shown["status"] == "importing"
    assert shown["source"] == {"registry": {**REGISTRY["registry"], "username": "alice"}}
    assert "s3cret-pw" not in answer.text
    assert "s3cret-pw" not in client.get(f"{IMAGES}/img", headers=headers).text
    with database.session() as db:
        env = db.scalars(select(Environment).where(Environment.name == "img")).one()
        assert held.started == [env.id]
        assert env.credentials is not None
        assert "s3cret-pw" not in env.credentials
        assert secrets.decrypt(settings, env.credentials) == "alice\0s3cret-pw"
    other_key = settings.model_copy(update={"secret_key": "k" * 40})
    with pytest.raises(InvalidInput, match="cannot be read"):
        secrets.decrypt(other_key, env.credentials)
    assert (settings.data_dir / "secret-key").stat().st_mode & 0o777 == 0o600
    duplicate = client.post(IMAGES, json={"name": "img", "source": REGISTRY}, headers=headers)
    assert duplicate.status_code == 409


def test_an_environment_that_is_not_ready_is_refused_to_sessions(
    client: TestClient, factory: Factory, database: Database
) -> None:
    image_env(database, "pending", EnvironmentStatus.IMPORTING)
    image_env(database, "broken", EnvironmentStatus.FAILED, error="boom")
    user = bearer(client, factory.user())
    for name, word in (("pending", "importing"), ("broken", "failed")):
        spec = {"type": "batch", "command": "true", "environment": name}
        refused = client.post("/api/v1/sessions", json=spec, headers=user)
        assert refused.status_code == 422, refused.text
        assert f"not ready ({word})" in refused.json()["error"]["message"]
    listed = {e["name"]: e for e in client.get("/api/v1/environments", headers=user).json()}
    assert listed["pending"]["kind"] == "image"
    assert listed["pending"]["status"] == "importing"
    assert listed["python"]["kind"] == "host"
    assert listed["python"]["status"] == "ready"


def test_delete_is_refused_while_a_job_runs_or_a_session_uses_it(
    client: TestClient, factory: Factory, headers: dict[str, str], database: Database
) -> None:
    image_env(database, "busy", EnvironmentStatus.BUILDING)
    assert client.delete(f"{IMAGES}/busy", headers=headers).status_code == 409
    image_env(database, "used", EnvironmentStatus.READY, image_digest="sha256:" + "a" * 64)
    factory.agent()
    user = bearer(client, factory.user())
    spec = {"type": "batch", "command": "true", "environment": "used"}
    started = client.post("/api/v1/sessions", json=spec, headers=user)
    assert started.status_code == 201, started.text
    refused = client.delete(f"{IMAGES}/used", headers=headers)
    assert refused.status_code == 409
    assert "Sessions use this environment" in refused.json()["error"]["message"]
    assert client.delete(f"/api/v1/sessions/{started.json()['id']}", headers=user).is_success
    session = client.get(f"/api/v1/sessions/{started.json()['id']}", headers=user).json()
    assert session["status"] == "CANCELLED"
    assert client.delete(f"{IMAGES}/used", headers=headers).status_code == 204
    kept = client.get(f"{IMAGES}/used", headers=headers).json()
    assert kept["status"] == "deleted"  # the finished session still names it
    assert client.post("/api/v1/sessions", json=spec, headers=user).status_code == 404
    assert client.get(f"{IMAGES}/python", headers=headers).status_code == 404  # a host one


def test_a_restart_marks_the_jobs_it_interrupted_as_failed(
    client: TestClient, headers: dict[str, str], database: Database
) -> None:
    host = WORKER.rsplit(":", 1)[0]
    image_env(database, "old", EnvironmentStatus.IMPORTING, worker=f"{host}:1")
    image_env(database, "elsewhere", EnvironmentStatus.BUILDING, worker="other-host:7")
    image_env(database, "done", EnvironmentStatus.READY, worker=f"{host}:1")
    assert mark_interrupted(database) == 1
    old = client.get(f"{IMAGES}/old", headers=headers).json()
    assert old["status"] == "failed"
    assert "Interrupted by a restart" in old["error"]
    assert client.get(f"{IMAGES}/elsewhere", headers=headers).json()["status"] == "building"
    assert client.get(f"{IMAGES}/done", headers=headers).json()["status"] == "ready"
