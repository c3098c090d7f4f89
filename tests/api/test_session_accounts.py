"""Session accounts and networks in the desired state (finding 3: every session of every user
ran as uid 65534 and shared the host's network).

What an agent is told to run: each user's sessions under a uid of their own, the same one
every time and never another user's, named after their email; the resource group's network
mode and allow-list; the scratch size.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from shipyard.agents.models import NetworkMode, ResourceGroup
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.scheduler.service import schedule_once
from shipyard.sessions.desired import login_name
from tests.factories import Factory
from tests.signed_agent import agent_auth, registration

# Session uids come from a dialect-specific insert that skips conflicts.
pytestmark = pytest.mark.db


def desired(client: TestClient, auth: Any) -> dict[str, dict[str, Any]]:
    state = client.get(
        "/api/v1/agent/desired", params={"agent_id": "node-1", "after": -1}, auth=auth
    ).json()
    return {spec["session_id"]: spec for spec in state["sessions"]}


def test_each_user_gets_a_uid_of_their_own_for_good(
    client: TestClient, database: Database, factory: Factory, settings: Settings
) -> None:
    auth = agent_auth(database)
    client.post("/api/v1/agent/register", json=registration(), auth=auth)
    alice, bob = factory.user(), factory.user()
    first = factory.session(alice.user, cpu="0.5", mem="256m")
    second = factory.session(alice.user, cpu="0.5", mem="256m")
    other = factory.session(bob.user, cpu="0.5", mem="256m")
    with database.session() as db:
        schedule_once(db)

    specs = desired(client, auth)
    again = desired(client, auth)

    uids = {
        name: specs[str(s.id)]["uid"] for name, s in (("a1", first), ("a2", second), ("b", other))
    }
    assert uids["a1"] == uids["a2"]
    assert uids["a1"] != uids["b"]
    assert min(uids.values()) > settings.session_uid_base
    assert {key: spec["uid"] for key, spec in again.items()} == {
        key: spec["uid"] for key, spec in specs.items()
    }
    assert specs[str(first.id)]["user"] == alice.email.partition("@")[0]
    assert specs[str(other.id)]["user"] == bob.email.partition("@")[0]


def test_a_later_user_never_gets_an_earlier_users_uid(
    client: TestClient, database: Database, factory: Factory
) -> None:
    auth = agent_auth(database)
    client.post("/api/v1/agent/register", json=registration(), auth=auth)
    early = factory.session(factory.user().user, cpu="0.5", mem="256m")
    with database.session() as db:
        schedule_once(db)
    early_uid = desired(client, auth)[str(early.id)]["uid"]

    late = factory.session(factory.user().user, cpu="0.5", mem="256m")
    with database.session() as db:
        schedule_once(db)

    assert desired(client, auth)[str(late.id)]["uid"] > early_uid


def test_sessions_get_their_groups_network_and_the_scratch_size(
    client: TestClient, database: Database, factory: Factory, settings: Settings
) -> None:
    auth = agent_auth(database)
    client.post("/api/v1/agent/register", json=registration(), auth=auth)
    session = factory.session(factory.user().user, cpu="0.5", mem="256m")
    with database.session() as db:
        schedule_once(db)
    assert desired(client, auth)[str(session.id)]["network"] == "outbound"

    with database.session() as db:
        group = db.query(ResourceGroup).filter_by(name="default").one()
        group.network_mode = NetworkMode.NONE
        group.network_allow = ["10.1.2.3:443"]
        db.commit()
    spec = desired(client, auth)[str(session.id)]

    assert spec["network"] == "none"
    assert spec["network_allow"] == ["10.1.2.3:443"]
    assert spec["scratch"] == settings.session_scratch_mb * 2**20


@pytest.mark.parametrize(
    ("email", "name"),
    [
        ("alice@example.org", "alice"),
        ("Dr.Who+lab@example.org", "drwholab"),
        ("1st@example.org", "work"),
        ("root@example.org", "work"),
        ("nobody@example.org", "work"),
        ("@example.org", "work"),
    ],
)
def test_the_session_account_name_comes_from_the_email(email: str, name: str) -> None:
    assert login_name(email) == name
