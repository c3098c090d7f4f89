"""Every user's home (issue 14, capability 2) through the API and the agent protocol: made by
the user's first session, listed with their folders (kind "home", its size and limit), sent
to the agent with each of their sessions to bind at /home/work, counted against the folder
size limit but not the folder count, never shared, renamed or mounted by name, and not
deleted while a session of its owner has not finished."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from shipyard.config import Settings
from shipyard.db import Database
from shipyard.sessions.models import ComputeSession, SessionStatus
from shipyard.storage import hosts
from shipyard.storage.models import Folder
from tests.api.test_desired_folder_limits import MiB, limit_owner
from tests.api.test_folder_revocation import Node, node, start
from tests.api.test_sessions_api import bearer
from tests.factories import Factory

__all__ = ["node"]  # the fixture


def listed(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    reply = client.get("/api/v1/folders", headers=headers)
    assert reply.status_code == 200, reply.text
    data: list[dict[str, Any]] = reply.json()["data"]
    return data


def home_in(folders: list[dict[str, Any]]) -> dict[str, Any]:
    found = [folder for folder in folders if folder["kind"] == "home"]
    assert len(found) == 1, folders
    return found[0]


def desired_home(node: Node, session_id: str) -> dict[str, Any] | None:
    found = [s for s in node.desired()["sessions"] if s["session_id"] == session_id]
    assert found, f"session {session_id} is not in the desired state"
    home: dict[str, Any] | None = found[0]["home"]
    return home


def test_the_first_session_makes_the_home_and_every_session_mounts_it(
    client: TestClient, database: Database, factory: Factory, node: Node, settings: Settings
) -> None:
    account = factory.user()
    headers = bearer(client, account)
    limit_owner(database, account, 64 * MiB)
    assert [f["kind"] for f in listed(client, headers)] == []

    first = start(client, database, account, [])
    second = start(client, database, account, [])

    home = home_in(listed(client, headers))
    assert (home["name"], home["permission"], home["max_size"]) == (".home", "owner", 64 * MiB)
    with database.session() as db:
        folder = db.get(Folder, uuid.UUID(home["id"]))
        assert folder is not None
        directory = hosts.agent_directory(settings, folder)
    assert directory.is_dir()
    for session in (first, second):
        assert desired_home(node, session) == {
            "source": str(directory),
            "name": ".home",
            "access": "full",
            "limit": 64 * MiB,
        }


def test_another_user_has_a_home_of_their_own_and_never_sees_this_one(
    client: TestClient, database: Database, factory: Factory, node: Node
) -> None:
    alice, bob = factory.user(), factory.user()
    alices = start(client, database, alice, [])
    bobs = start(client, database, bob, [])
    home = home_in(listed(client, bearer(client, alice)))
    bob_headers = bearer(client, bob)

    assert home_in(listed(client, bob_headers))["id"] != home["id"]
    assert client.get(f"/api/v1/folders/{home['id']}", headers=bob_headers).status_code == 404
    alices_home, bobs_home = desired_home(node, alices), desired_home(node, bobs)
    assert alices_home is not None
    assert bobs_home is not None
    assert alices_home["source"] != bobs_home["source"]


def test_the_home_takes_none_of_the_folder_count(
    client: TestClient, database: Database, factory: Factory, node: Node
) -> None:
    account = factory.user()
    with database.session() as db:
        policy = factory.user_policy(account.user)
        db.merge(policy).max_folder_count = 1
        db.commit()
    headers = bearer(client, account)
    start(client, database, account, [])

    made = client.post("/api/v1/folders", json={"name": "data"}, headers=headers)
    refused = client.post("/api/v1/folders", json={"name": "more"}, headers=headers)

    assert made.status_code == 201, made.text
    assert refused.status_code == 409, refused.text
    assert sorted(f["kind"] for f in listed(client, headers)) == ["folder", "home"]


def test_the_home_is_never_shared_renamed_or_mounted_by_name(
    client: TestClient, database: Database, factory: Factory, node: Node
) -> None:
    account, friend = factory.user(), factory.user()
    headers = bearer(client, account)
    start(client, database, account, [])
    home = home_in(listed(client, headers))["id"]

    invited = client.post(
        f"/api/v1/folders/{home}/invitations",
        json={"email": friend.email, "permission": "rw"},
        headers=headers,
    )
    renamed = client.patch(f"/api/v1/folders/{home}", json={"name": "other"}, headers=headers)
    mounted = client.post(
        "/api/v1/sessions",
        json={"command": "true", "resources": {"cpu": "1", "mem": "256m"}, "mounts": [home]},
        headers=headers,
    )

    for refused in (invited, renamed):
        assert refused.status_code == 422, refused.text
        assert "cannot be renamed or shared" in refused.json()["error"]["message"]
    assert mounted.status_code == 422, mounted.text
    assert "at /home/work" in mounted.json()["error"]["message"]
    assert home_in(listed(client, headers))["name"] == ".home"
    assert client.get("/api/v1/invitations", headers=bearer(client, friend)).json()["data"] == []


def test_the_home_is_not_deleted_while_a_session_of_its_owner_runs(
    client: TestClient, database: Database, factory: Factory, node: Node
) -> None:
    account = factory.user()
    headers = bearer(client, account)
    session = start(client, database, account, [])
    home = home_in(listed(client, headers))["id"]

    refused = client.delete(f"/api/v1/folders/{home}", headers=headers)
    with database.session() as db:
        db.execute(
            update(ComputeSession)
            .where(ComputeSession.id == uuid.UUID(session))
            .values(status=SessionStatus.TERMINATED)
        )
        db.commit()
    deleted = client.delete(f"/api/v1/folders/{home}", headers=headers)

    assert refused.status_code == 409, refused.text
    assert "Sessions still use this folder" in refused.json()["error"]["message"]
    assert deleted.status_code == 204, deleted.text
    assert [f["kind"] for f in listed(client, headers)] == []
