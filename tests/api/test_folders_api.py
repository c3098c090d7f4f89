"""Folders through the API: create, list, rename, delete, limits, usage, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shipyard.config import Settings
from shipyard.db import Database
from shipyard.policies import service as policies
from shipyard.policies.models import PolicyKind
from shipyard.projects.models import MemberRole, ProjectMember
from shipyard.storage import hosts
from shipyard.storage.models import Folder
from tests.api.folder_helpers import Caller, caller, folder_dir
from tests.factories import Factory


@pytest.fixture
def alice(client: TestClient, factory: Factory) -> Caller:
    return caller(client, factory.user())


def folder_count(database: Database) -> int:
    with database.session() as db:
        return db.scalar(select(func.count()).select_from(Folder)) or 0


def limit_folders(
    database: Database, caller_: Caller, *, count: int | None = None, size: int | None = None
) -> None:
    with database.session() as db:
        policy = policies.create_policy(
            db, name=f"folders-{caller_.account.email}", kind=PolicyKind.USER
        )
        policy.max_folder_count = count
        policy.max_folder_size = size
        db.merge(caller_.account.user).resource_policy_id = policy.id
        db.commit()


@pytest.mark.smoke
def test_create_list_info(client: TestClient, alice: Caller, settings: Settings) -> None:
    created = client.post(
        "/api/v1/folders", json={"name": "data", "usage_mode": "data"}, headers=alice.headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["permission"], body["via"], body["host"]) == (
        "data",
        "owner",
        "own",
        "local",
    )
    assert body["owner"] == alice.account.email
    assert body["max_size"] is None
    directory = settings.data_dir / "storage" / body["id"].replace("-", "")
    assert directory.is_dir()
    listed = client.get("/api/v1/folders", headers=alice.headers).json()
    assert [f["name"] for f in listed["data"]] == ["data"]
    assert (listed["own_count"], listed["max_folder_count"]) == (1, None)
    by_name = client.get("/api/v1/folders/data", headers=alice.headers).json()
    assert by_name["id"] == body["id"]


@pytest.mark.parametrize(
    "name", ["", ".hidden", "-dash", "a/b", "a b", "x" * 65, "dot..", "ü", "a\x00b"]
)
def test_bad_names_change_nothing(
    client: TestClient, alice: Caller, database: Database, name: str
) -> None:
    if name == "dot..":
        name = ".."
    response = client.post("/api/v1/folders", json={"name": name}, headers=alice.headers)
    assert response.status_code == 422
    assert response.json()["error"]["message"]
    assert folder_count(database) == 0


@pytest.mark.db
def test_duplicate_name_is_a_clear_conflict(client: TestClient, alice: Caller) -> None:
    assert client.post("/api/v1/folders", json={"name": "x"}, headers=alice.headers).is_success
    again = client.post("/api/v1/folders", json={"name": "x"}, headers=alice.headers)
    assert again.status_code == 409
    assert "already have a folder called x" in again.json()["error"]["message"]


@pytest.mark.db
def test_two_users_may_use_the_same_name(
    client: TestClient, alice: Caller, factory: Factory
) -> None:
    bob = caller(client, factory.user())
    for who in (alice, bob):
        assert client.post("/api/v1/folders", json={"name": "same"}, headers=who.headers).is_success


def test_unknown_host_is_refused(client: TestClient, alice: Caller, database: Database) -> None:
    response = client.post(
        "/api/v1/folders", json={"name": "x", "host": "nowhere"}, headers=alice.headers
    )
    assert response.status_code == 404
    assert "nowhere" in response.json()["error"]["message"]
    assert folder_count(database) == 0


@pytest.mark.db
def test_folder_count_limit(client: TestClient, alice: Caller, database: Database) -> None:
    limit_folders(database, alice, count=2)
    for name in ("a", "b"):
        assert client.post("/api/v1/folders", json={"name": name}, headers=alice.headers).is_success
    third = client.post("/api/v1/folders", json={"name": "c"}, headers=alice.headers)
    assert third.status_code == 409
    assert third.json()["error"]["code"] == "quota_exceeded"
    assert "at most 2 folders" in third.json()["error"]["message"]
    listed = client.get("/api/v1/folders", headers=alice.headers).json()
    assert (listed["own_count"], listed["max_folder_count"]) == (2, 2)


def test_usage_and_size_limit_are_shown(
    client: TestClient, alice: Caller, database: Database, settings: Settings, factory: Factory
) -> None:
    limit_folders(database, alice, size=10_000)
    folder = factory.folder(alice.account.user, name="sized")
    (folder_dir(settings, folder) / "blob").write_bytes(b"x" * 1234)
    info = client.get("/api/v1/folders/sized", headers=alice.headers).json()
    assert (info["used_bytes"], info["max_size"]) == (1234, 10_000)


def test_rename_and_delete(
    client: TestClient, alice: Caller, database: Database, settings: Settings, factory: Factory
) -> None:
    folder = factory.folder(alice.account.user, name="old")
    directory = folder_dir(settings, folder)
    renamed = client.patch("/api/v1/folders/old", json={"name": "new"}, headers=alice.headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "new"
    assert directory.is_dir()  # the directory is named by id, not by name
    assert client.get("/api/v1/folders/old", headers=alice.headers).status_code == 404
    assert client.delete("/api/v1/folders/new", headers=alice.headers).status_code == 204
    assert not directory.exists()
    assert folder_count(database) == 0


@pytest.mark.db
def test_rename_onto_an_existing_name_is_refused(
    client: TestClient, alice: Caller, factory: Factory
) -> None:
    factory.folder(alice.account.user, name="one")
    factory.folder(alice.account.user, name="two")
    response = client.patch("/api/v1/folders/one", json={"name": "two"}, headers=alice.headers)
    assert response.status_code == 409
    assert client.get("/api/v1/folders/one", headers=alice.headers).status_code == 200


def test_strangers_learn_nothing(client: TestClient, alice: Caller, factory: Factory) -> None:
    folder = factory.folder(alice.account.user, name="secret")
    stranger = caller(client, factory.user())
    for ref in ("secret", str(folder.id)):
        response = client.get(f"/api/v1/folders/{ref}", headers=stranger.headers)
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "No such folder."
    assert (
        client.delete(f"/api/v1/folders/{folder.id}", headers=stranger.headers).status_code == 404
    )
    assert client.get("/api/v1/folders", headers=stranger.headers).json()["count"] == 0


def test_admin_overview_lists_every_folder_without_contents(
    client: TestClient, alice: Caller, factory: Factory
) -> None:
    folder = factory.folder(alice.account.user, name="private")
    admin = caller(client, factory.admin())
    assert client.get("/api/v1/folders", headers=admin.headers).json()["count"] == 0
    overview = client.get("/api/v1/folders?all=true", headers=admin.headers).json()
    assert [(f["name"], f["permission"], f["owner"]) for f in overview["data"]] == [
        ("private", "admin", alice.account.email)
    ]
    files = client.get(f"/api/v1/folders/{folder.id}/files", headers=admin.headers)
    assert files.status_code == 403
    assert client.get("/api/v1/folders?all=true", headers=alice.headers).status_code == 403


def test_project_folders(client: TestClient, factory: Factory, database: Database) -> None:
    owner, member = factory.user(), factory.user()
    project = factory.project(members=(owner.user, member.user))
    with database.session() as db:
        row = db.get(ProjectMember, (project.id, owner.user.id))
        assert row is not None
        row.role = MemberRole.OWNER
        db.commit()
    owner_c, member_c = caller(client, owner), caller(client, member)
    refused = client.post(
        "/api/v1/folders",
        json={"name": "shared", "project": project.name},
        headers=member_c.headers,
    )
    assert refused.status_code == 403
    created = client.post(
        "/api/v1/folders",
        json={"name": "shared", "project": project.name},
        headers=owner_c.headers,
    )
    assert created.status_code == 201, created.text
    assert (created.json()["ownership"], created.json()["owner"]) == ("project", project.name)
    seen = client.get("/api/v1/folders", headers=member_c.headers).json()["data"]
    assert [(f["name"], f["via"], f["permission"]) for f in seen] == [("shared", "project", "wd")]
    assert client.delete("/api/v1/folders/shared", headers=member_c.headers).status_code == 403
    outsider = caller(client, factory.user())
    assert (
        client.get(f"/api/v1/folders/{created.json()['id']}", headers=outsider.headers).status_code
        == 404
    )


def test_missing_directory_is_a_clear_error(
    client: TestClient, alice: Caller, settings: Settings, factory: Factory
) -> None:
    folder = factory.folder(alice.account.user, name="gone")
    folder_dir(settings, folder).rmdir()
    response = client.get("/api/v1/folders/gone/files", headers=alice.headers)
    assert response.status_code == 404
    assert "not available" in response.json()["error"]["message"]


def test_configured_host(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "d",
        storage_hosts={"nfs": {"path": tmp_path / "nfs", "agent_path": "/mnt/nfs"}},
    )
    found = hosts.hosts(settings)
    assert set(found) == {"local", "nfs"}
    assert found["nfs"].agent_path == Path("/mnt/nfs")
    assert found["local"].path == (tmp_path / "d" / "storage").absolute()
