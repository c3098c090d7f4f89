"""A revoked or lowered folder right reaches running sessions (issue 12): whatever lowers a
user's access to a folder changes, in the same transaction, the desired state of the agents
running that user's sessions, which then carry the folder with the access the user has now
(or not at all); the agents' long-polls wake once it commits."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.agents import service as agents
from shipyard.agents.models import Agent
from shipyard.agents.notifier import Notifier
from shipyard.db import Database
from shipyard.scheduler.service import schedule_once
from shipyard.storage.models import Folder, Perm
from tests.api.test_sessions_api import bearer
from tests.factories import Account, Factory
from tests.signed_agent import agent_auth, registration

AGENT = "node-1"


class Node:
    """The one agent of these tests, registered through the protocol."""

    def __init__(self, client: TestClient, database: Database) -> None:
        self.client = client
        self.database = database
        self.auth = agent_auth(database)
        reply = client.post("/api/v1/agent/register", json=registration(), auth=self.auth)
        assert reply.status_code == 200, reply.text

    def desired(self, *, after: int = -1, wait: float = 0) -> dict[str, Any]:
        reply = self.client.get(
            "/api/v1/agent/desired",
            params={"agent_id": AGENT, "after": after, "wait": wait},
            auth=self.auth,
        )
        assert reply.status_code == 200, reply.text
        state: dict[str, Any] = reply.json()
        return state

    def mounts(self, session_id: str) -> dict[str, str]:
        """name -> access of one session's folders, as the agent is told now."""
        state = self.desired()
        found = [s for s in state["sessions"] if s["session_id"] == session_id]
        assert found, f"session {session_id} is not in the desired state"
        return {mount["name"]: mount["access"] for mount in found[0]["mounts"]}

    def version(self) -> int:
        with self.database.session() as db:
            return db.scalar(select(Agent.desired_version).where(Agent.id == AGENT)) or 0


@pytest.fixture
def node(client: TestClient, database: Database) -> Node:
    return Node(client, database)


def start(
    client: TestClient, database: Database, account: Account, mounts: list[str], **extra: Any
) -> str:
    """A session with these folders, placed on the node; its id."""
    body = {"command": "sleep 600", "resources": {"cpu": "1", "mem": "256m"}, "mounts": mounts}
    created = client.post(
        "/api/v1/sessions", json={**body, **extra}, headers=bearer(client, account)
    )
    assert created.status_code == 201, created.text
    with database.session() as db:
        schedule_once(db)
    return str(created.json()["id"])


def shared(factory: Factory, invitee: Account, perm: Perm, name: str) -> tuple[Account, Folder]:
    owner = factory.user()
    folder = factory.folder(owner.user, name=name)
    factory.share(folder, owner.user, invitee, perm)
    return owner, folder


def test_each_folder_comes_with_the_access_its_owner_has_now(
    client: TestClient, database: Database, factory: Factory, node: Node
) -> None:
    account = factory.user()
    factory.folder(account.user, name="mine")
    shared(factory, account, Perm.RO, "reference")
    shared(factory, account, Perm.RW, "scratch")
    shared(factory, account, Perm.WD, "team")
    session = start(client, database, account, ["mine", "reference", "scratch", "team"])

    assert node.mounts(session) == {
        "mine": "full",
        "reference": "ro",
        "scratch": "rw",
        "team": "full",
    }


def test_a_revoked_share_leaves_the_running_session_at_once(
    client: TestClient, database: Database, factory: Factory, node: Node
) -> None:
    account = factory.user()
    factory.folder(account.user, name="mine")
    owner, folder = shared(factory, account, Perm.RW, "scratch")
    session = start(client, database, account, ["mine", "scratch"])
    before = node.version()

    revoked = client.delete(
        f"/api/v1/folders/{folder.id}/shares/{account.email}", headers=bearer(client, owner)
    )

    assert revoked.status_code == 204, revoked.text
    assert node.version() > before
    assert node.mounts(session) == {"mine": "full"}


@pytest.mark.parametrize(
    ("granted", "lowered", "now"),
    [(Perm.RW, Perm.RO, "ro"), (Perm.WD, Perm.RW, "rw"), (Perm.WD, Perm.RO, "ro")],
)
def test_a_lowered_share_lowers_the_running_sessions_access(
    client: TestClient,
    database: Database,
    factory: Factory,
    node: Node,
    granted: Perm,
    lowered: Perm,
    now: str,
) -> None:
    account = factory.user()
    owner, folder = shared(factory, account, granted, "scratch")
    session = start(client, database, account, ["scratch"])
    before = node.version()

    changed = client.patch(
        f"/api/v1/folders/{folder.id}/shares/{account.email}",
        json={"permission": lowered.value},
        headers=bearer(client, owner),
    )

    assert changed.status_code == 200, changed.text
    assert node.version() > before
    assert node.mounts(session) == {"scratch": now}


def test_a_raised_share_does_not_widen_a_read_only_session(
    client: TestClient, database: Database, factory: Factory, node: Node
) -> None:
    account = factory.user()
    owner, folder = shared(factory, account, Perm.RO, "reference")
    session = start(client, database, account, ["reference"])

    client.patch(
        f"/api/v1/folders/{folder.id}/shares/{account.email}",
        json={"permission": "wd"},
        headers=bearer(client, owner),
    )

    assert node.mounts(session) == {"reference": "ro"}


def test_leaving_a_share_leaves_it_in_running_sessions(
    client: TestClient, database: Database, factory: Factory, node: Node
) -> None:
    account = factory.user()
    _owner, folder = shared(factory, account, Perm.RW, "scratch")
    session = start(client, database, account, ["scratch"])
    before = node.version()

    left = client.post(f"/api/v1/folders/{folder.id}/leave", headers=bearer(client, account))

    assert left.status_code == 204, left.text
    assert node.version() > before
    assert node.mounts(session) == {}


def project_session(
    client: TestClient, database: Database, factory: Factory
) -> tuple[Account, Account, Any, str]:
    """An admin, a member, their project with a folder, and the member's session mounting it."""
    admin = factory.admin()
    member = factory.user()
    project = factory.project(members=(admin.user, member.user))
    factory.folder(admin.user, name="team-data", project=project.name)
    session = start(client, database, member, ["team-data"], project=project.name)
    return admin, member, project, session


def test_a_member_removed_from_a_project_loses_its_folders_in_running_sessions(
    client: TestClient, database: Database, factory: Factory, node: Node
) -> None:
    admin, member, project, session = project_session(client, database, factory)
    assert node.mounts(session) == {"team-data": "full"}
    before = node.version()

    removed = client.delete(
        f"/api/v1/admin/projects/{project.name}/members/{member.email}",
        headers=bearer(client, admin),
    )

    assert removed.status_code == 204, removed.text
    assert node.version() > before
    assert node.mounts(session) == {}


def test_a_user_whose_projects_an_admin_changes_loses_the_old_projects_folders(
    client: TestClient, database: Database, factory: Factory, node: Node
) -> None:
    admin, member, _project, session = project_session(client, database, factory)
    before = node.version()

    changed = client.patch(
        f"/api/v1/admin/users/{member.email}", json={"projects": []}, headers=bearer(client, admin)
    )

    assert changed.status_code == 200, changed.text
    assert node.version() > before
    assert node.mounts(session) == {}


def test_a_deactivated_projects_folders_leave_its_running_sessions(
    client: TestClient, database: Database, factory: Factory, node: Node
) -> None:
    admin, _member, project, session = project_session(client, database, factory)
    before = node.version()

    deactivated = client.patch(
        f"/api/v1/admin/projects/{project.name}",
        json={"is_active": False},
        headers=bearer(client, admin),
    )

    assert deactivated.status_code == 200, deactivated.text
    assert node.version() > before
    assert node.mounts(session) == {}


def test_changes_that_lower_nobodys_access_leave_agents_alone(
    client: TestClient, database: Database, factory: Factory, node: Node
) -> None:
    """Only the sessions of those whose access shrank: another user's share changing does
    not touch an agent that runs none of theirs."""
    account = factory.user()
    factory.folder(account.user, name="mine")
    start(client, database, account, ["mine"])
    stranger = factory.user()
    owner, folder = shared(factory, stranger, Perm.RW, "elsewhere")
    before = node.version()

    client.delete(
        f"/api/v1/folders/{folder.id}/shares/{stranger.email}", headers=bearer(client, owner)
    )

    assert node.version() == before


@pytest.mark.db
def test_a_waiting_long_poll_returns_once_a_share_is_revoked(
    client: TestClient, database: Database, factory: Factory, node: Node
) -> None:
    account = factory.user()
    owner, folder = shared(factory, account, Perm.RW, "scratch")
    session = start(client, database, account, ["scratch"])
    version = node.desired()["version"]
    answers: list[dict[str, Any]] = []

    waiting = threading.Thread(target=lambda: answers.append(node.desired(after=version, wait=20)))
    waiting.start()
    time.sleep(0.2)  # the long-poll is waiting
    client.delete(
        f"/api/v1/folders/{folder.id}/shares/{account.email}", headers=bearer(client, owner)
    )
    waiting.join(timeout=10)

    assert not waiting.is_alive(), "the long-poll did not return after the revoke"
    assert answers[0]["version"] > version
    assert [s["mounts"] for s in answers[0]["sessions"] if s["session_id"] == session] == [[]]


class RecordingNotifier(Notifier):
    """A Notifier that records whom it would wake."""

    def __init__(self) -> None:
        super().__init__()
        self.woken: list[list[str]] = []

    def notify(self, agent_ids: set[str] | list[str]) -> None:
        self.woken.append(sorted(agent_ids))


@pytest.mark.db
def test_bumped_agents_are_woken_after_commit_and_never_after_a_rollback(
    database: Database,
) -> None:
    notifier = RecordingNotifier()
    notifier.watch(database)

    with database.session() as db:
        agents.bump_many(db, ["node-a", "node-b"])
        assert notifier.woken == []  # not before the change is visible
        db.commit()
        assert notifier.woken == [["node-a", "node-b"]]
        agents.bump_many(db, ["node-c"])
        db.rollback()
        db.commit()

    assert notifier.woken == [["node-a", "node-b"]]
