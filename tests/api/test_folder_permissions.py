"""The permission matrix: owner, wd, rw, ro, stranger, admin x list, read, write, delete, invite."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest
from fastapi.testclient import TestClient

from shipyard.config import Settings
from shipyard.storage.models import Folder, Perm
from tests.api.folder_helpers import Caller, caller, folder_dir
from tests.factories import Account, Factory

Role = Literal["owner", "wd", "rw", "ro", "stranger", "admin"]
Action = Literal["list", "read", "write", "delete", "invite"]

# The status each role gets for each action: strangers learn nothing (404), admins are
# told no (403): they see that a folder exists in the admin overview, never its contents.
EXPECTED: dict[Role, dict[Action, int]] = {
    "owner": {"list": 200, "read": 200, "write": 201, "delete": 204, "invite": 201},
    "wd": {"list": 200, "read": 200, "write": 201, "delete": 204, "invite": 403},
    "rw": {"list": 200, "read": 200, "write": 201, "delete": 403, "invite": 403},
    "ro": {"list": 200, "read": 200, "write": 403, "delete": 403, "invite": 403},
    "stranger": {"list": 404, "read": 404, "write": 404, "delete": 404, "invite": 404},
    "admin": {"list": 403, "read": 403, "write": 403, "delete": 403, "invite": 403},
}


@dataclass
class World:
    folder: Folder
    callers: dict[Role, Caller]
    target: Account  # someone to invite


@pytest.fixture
def world(client: TestClient, factory: Factory, settings: Settings) -> World:
    owner = factory.user()
    folder = factory.folder(owner.user, name="matrix")
    directory = folder_dir(settings, folder)
    (directory / "doc.txt").write_text("hello")
    (directory / "victim.txt").write_text("delete me")
    callers: dict[Role, Caller] = {"owner": caller(client, owner)}
    for role, perm in (("wd", Perm.WD), ("rw", Perm.RW), ("ro", Perm.RO)):
        account = factory.user()
        factory.share(folder, owner.user, account, perm)
        callers[role] = caller(client, account)  # type: ignore[index]
    callers["stranger"] = caller(client, factory.user())
    callers["admin"] = caller(client, factory.admin())
    return World(folder=folder, callers=callers, target=factory.user())


def attempt(client: TestClient, world: World, role: Role, action: Action) -> int:
    base = f"/api/v1/folders/{world.folder.id}"
    headers = world.callers[role].headers
    if action == "list":
        response = client.get(f"{base}/files", headers=headers)
    elif action == "read":
        response = client.get(f"{base}/download", params={"path": "doc.txt"}, headers=headers)
        if response.status_code == 200:
            assert response.content == b"hello"
    elif action == "write":
        response = client.post(f"{base}/mkdir", json={"path": f"by-{role}"}, headers=headers)
    elif action == "delete":
        response = client.delete(f"{base}/files", params={"path": "victim.txt"}, headers=headers)
    else:
        response = client.post(
            f"{base}/invitations",
            json={"email": world.target.email, "permission": "ro"},
            headers=headers,
        )
    return response.status_code


@pytest.mark.parametrize("role", list(EXPECTED))
def test_permission_matrix(
    client: TestClient, world: World, settings: Settings, role: Role
) -> None:
    directory = folder_dir(settings, world.folder)
    for action, expected in EXPECTED[role].items():
        assert attempt(client, world, role, action) == expected, (role, action)
    assert (directory / f"by-{role}").is_dir() == (EXPECTED[role]["write"] == 201)
    assert (directory / "victim.txt").exists() == (EXPECTED[role]["delete"] != 204)
    assert (directory / "doc.txt").read_text() == "hello"


@pytest.mark.parametrize("role", list(EXPECTED))
def test_folder_listing_shows_the_permission(client: TestClient, world: World, role: Role) -> None:
    listed = client.get("/api/v1/folders", headers=world.callers[role].headers).json()["data"]
    badges = [(f["id"], f["permission"]) for f in listed]
    if role in ("stranger", "admin"):
        assert badges == []
    else:
        assert badges == [(str(world.folder.id), role)]


def test_refused_actions_do_not_reveal_or_change(
    client: TestClient, world: World, settings: Settings
) -> None:
    stranger = world.callers["stranger"].headers
    base = f"/api/v1/folders/{world.folder.id}"
    before = sorted(p.name for p in folder_dir(settings, world.folder).iterdir())
    for response in (
        client.post(f"{base}/move", json={"source": "doc.txt", "target": "x"}, headers=stranger),
        client.patch(base, json={"name": "stolen"}, headers=stranger),
        client.delete(base, headers=stranger),
        client.get(f"{base}/shares", headers=stranger),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "No such folder."
    assert sorted(p.name for p in folder_dir(settings, world.folder).iterdir()) == before


def test_only_the_owner_manages_the_folder(client: TestClient, world: World) -> None:
    base = f"/api/v1/folders/{world.folder.id}"
    for role in ("wd", "admin"):
        headers = world.callers[role].headers  # type: ignore[index]
        assert client.delete(base, headers=headers).status_code == 403
        assert client.get(f"{base}/shares", headers=headers).status_code == 403
    assert client.get(f"{base}/shares", headers=world.callers["owner"].headers).status_code == 200
