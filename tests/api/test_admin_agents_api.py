"""Agents and agent tokens through the admin API: list, drain, move, tokens; admins only."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.admin import agents as admin
from shipyard.agents import service as agents
from shipyard.agents.models import Agent, AgentStatus
from shipyard.agents.schemas import AgentRegister, EnforcementReport, SessionReport
from shipyard.audit.models import AuditEntry
from shipyard.db import Database
from shipyard.errors import Conflict
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import service as sessions
from shipyard.sessions.models import ComputeSession, SessionStatus
from tests.api.effects_helpers import Effects
from tests.api.test_sessions_api import bearer
from tests.factories import Factory
from tests.signed_agent import FACTORY_TOKEN_HASH, INSTANCE, auth_of, registration

# A fixed id no row has: parametrised test ids must be the same in every xdist worker.
MISSING_ID = uuid.UUID(int=0xDEAD)

ADMIN_ROUTES = [
    ("GET", "/api/v1/admin/agents"),
    ("GET", "/api/v1/admin/agents/agent-x"),
    ("PATCH", "/api/v1/admin/agents/agent-x"),
    ("GET", "/api/v1/admin/agent-tokens"),
    ("POST", "/api/v1/admin/agent-tokens"),
    ("DELETE", f"/api/v1/admin/agent-tokens/{MISSING_ID}"),
]


@pytest.fixture
def admin_headers(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.admin())


def run_round(database: Database) -> None:
    with database.session() as db:
        schedule_once(db)


def session_state(database: Database, session: ComputeSession) -> ComputeSession:
    with database.session() as db:
        found = db.get(ComputeSession, session.id)
        assert found is not None
        return found


def report_running(database: Database, agent: Agent, session: ComputeSession) -> None:
    with database.session() as db:
        sessions.apply_reports(
            db, agent=db.merge(agent), reports=[SessionReport(session_id=session.id, running=True)]
        )
        db.commit()


def audit_actions(database: Database, target_id: str) -> list[str]:
    with database.session() as db:
        query = select(AuditEntry.action).where(AuditEntry.target_id == target_id)
        return list(db.scalars(query.order_by(AuditEntry.at)))


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_normal_users_are_refused(
    client: TestClient, factory: Factory, method: str, path: str
) -> None:
    user = bearer(client, factory.user())
    response = client.request(method, path, headers=user, json={})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Only administrators may do this."
    assert client.request(method, path, json={}).status_code == 401


@pytest.mark.smoke
def test_the_list_shows_capacity_occupancy_and_sessions(
    client: TestClient, factory: Factory, database: Database, admin_headers: dict[str, str]
) -> None:
    busy = factory.agent(cpu="4", mem="8g", gpus=1)
    owner = factory.user().user
    factory.session(owner, cpu="1.5", mem="2g", gpus=1)
    run_round(database)
    idle = factory.agent(cpu="2", mem="4g")
    listed = client.get("/api/v1/admin/agents", headers=admin_headers).json()
    assert listed["count"] == 2
    rows = {row["id"]: row for row in listed["data"]}
    assert rows[busy.id]["sessions"] == 1
    slots = {figure["slot"]: figure for figure in rows[busy.id]["slots"]}
    assert (slots["cpu"]["used"], slots["cpu"]["capacity"]) == ("1.5", "4")
    assert slots["mem"]["shown"] == "2 GiB / 8 GiB"
    assert slots["cuda.device"]["shown"] == "1 / 1"
    assert rows[idle.id]["sessions"] == 0
    assert [figure["slot"] for figure in rows[idle.id]["slots"]] == ["cpu", "mem"]
    assert rows[idle.id]["enforcement"]["sandbox"] == "bubblewrap"
    assert rows[idle.id]["status"] == "ALIVE"
    assert rows[idle.id]["resource_group"] == "default"
    one = client.get(f"/api/v1/admin/agents/{busy.id}", headers=admin_headers).json()
    assert one["sessions"] == 1
    missing = client.get("/api/v1/admin/agents/no-such-agent", headers=admin_headers)
    assert missing.status_code == 404


@pytest.mark.db
def test_filters_and_pages(
    client: TestClient, factory: Factory, database: Database, admin_headers: dict[str, str]
) -> None:
    client.post("/api/v1/admin/resource-groups", json={"name": "gpu"}, headers=admin_headers)
    in_gpu = factory.agent(group="gpu")
    lost = factory.agent()
    others = [factory.agent() for _ in range(3)]
    with database.session() as db:
        db.get_one(Agent, lost.id).status = AgentStatus.LOST
        db.commit()

    def ids(**params: object) -> list[str]:
        found = client.get("/api/v1/admin/agents", params=params, headers=admin_headers).json()
        return [row["id"] for row in found["data"]]

    assert ids(group="gpu") == [in_gpu.id]
    assert ids(status="LOST") == [lost.id]
    assert ids(group="nope") == []
    assert len(ids()) == 5
    first = client.get("/api/v1/admin/agents?limit=2", headers=admin_headers).json()
    second = client.get("/api/v1/admin/agents?limit=2&offset=2", headers=admin_headers).json()
    assert first["count"] == second["count"] == 5
    assert not {row["id"] for row in first["data"]} & {row["id"] for row in second["data"]}
    assert {a.id for a in others} <= set(ids(limit=10))
    bad = client.get("/api/v1/admin/agents?status=ASLEEP", headers=admin_headers)
    assert bad.status_code == 422


def test_drain_keeps_running_sessions_and_places_nothing_new(
    client: TestClient, factory: Factory, database: Database, admin_headers: dict[str, str]
) -> None:
    agent = factory.agent(cpu="8", mem="16g")
    owner = factory.user().user
    running = factory.session(owner)
    run_round(database)
    report_running(database, agent, running)
    drained = client.patch(
        f"/api/v1/admin/agents/{agent.id}", json={"schedulable": False}, headers=admin_headers
    )
    assert drained.status_code == 200, drained.text
    assert drained.json()["schedulable"] is False
    waiting = factory.session(owner)
    run_round(database)
    assert session_state(database, waiting).status is SessionStatus.PENDING
    assert session_state(database, running).status is SessionStatus.RUNNING
    undrained = client.patch(
        f"/api/v1/admin/agents/{agent.id}", json={"schedulable": True}, headers=admin_headers
    )
    assert undrained.json()["schedulable"] is True
    run_round(database)
    placed = session_state(database, waiting)
    assert (placed.status, placed.agent_id) == (SessionStatus.SCHEDULED, agent.id)
    assert audit_actions(database, agent.id) == ["agent.schedulable", "agent.schedulable"]


def test_a_drained_agent_stays_drained_when_it_registers_again(
    client: TestClient, factory: Factory, database: Database, admin_headers: dict[str, str]
) -> None:
    auth = auth_of(issue(client, admin_headers)["token"])
    assert client.post("/api/v1/agent/register", json=registration("node-9"), auth=auth)
    client.patch("/api/v1/admin/agents/node-9", json={"schedulable": False}, headers=admin_headers)
    again = client.post("/api/v1/agent/register", json=registration("node-9"), auth=auth)
    assert again.status_code == 200
    listed = client.get("/api/v1/admin/agents/node-9", headers=admin_headers).json()
    assert listed["schedulable"] is False


def unsandboxed(database: Database) -> Agent:
    payload = AgentRegister(
        agent_id=f"bare-{uuid.uuid4().hex[:8]}",
        hostname="bare",
        addr="http://127.0.0.1:9",
        version="test",
        capacity={"cpu": "2", "mem": "1073741824"},
        enforcement=EnforcementReport(sandbox="none", cgroups="none", rlimits=True),
        instance=INSTANCE,
    )
    with database.session() as db:
        return agents.register(
            db, group=agents.default_group(db), payload=payload, token_hash=FACTORY_TOKEN_HASH
        )


def test_an_agent_without_sandbox_stays_unschedulable_off_loopback(
    database: Database, factory: Factory
) -> None:
    bare = unsandboxed(database)
    assert bare.schedulable is False
    actor = factory.admin().user
    with database.session() as db, pytest.raises(Conflict, match="has no sandbox"):
        admin.set_schedulable(
            db, actor=db.merge(actor), agent_id=bare.id, schedulable=True, unsandboxed_ok=False
        )
    with database.session() as db:
        assert db.get_one(Agent, bare.id).schedulable is False
        admin.set_schedulable(
            db, actor=db.merge(actor), agent_id=bare.id, schedulable=True, unsandboxed_ok=True
        )
        assert db.get_one(Agent, bare.id).schedulable is True


def test_move_to_another_group(
    client: TestClient, factory: Factory, database: Database, admin_headers: dict[str, str]
) -> None:
    client.post("/api/v1/admin/resource-groups", json={"name": "batch"}, headers=admin_headers)
    agent = factory.agent()
    owner = factory.user().user
    factory.session(owner)
    run_round(database)
    path = f"/api/v1/admin/agents/{agent.id}"
    busy = client.patch(path, json={"resource_group": "batch"}, headers=admin_headers)
    assert busy.status_code == 409
    assert "still has sessions" in busy.json()["error"]["message"]
    idle = factory.agent()
    path = f"/api/v1/admin/agents/{idle.id}"
    unknown = client.patch(path, json={"resource_group": "nope"}, headers=admin_headers)
    assert unknown.status_code == 404
    moved = client.patch(path, json={"resource_group": "batch"}, headers=admin_headers)
    assert moved.status_code == 200, moved.text
    assert moved.json()["resource_group"] == "batch"
    assert audit_actions(database, idle.id) == ["agent.move"]
    assert (
        client.get(f"/api/v1/admin/agents/{agent.id}", headers=admin_headers).json()[
            "resource_group"
        ]
        == "default"
    )
    extra = client.patch(path, json={"hostname": "x"}, headers=admin_headers)
    assert extra.status_code == 422


def test_undraining_or_moving_an_agent_wakes_the_scheduler(
    app: FastAPI,
    client: TestClient,
    factory: Factory,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client.post("/api/v1/admin/resource-groups", json={"name": "batch"}, headers=admin_headers)
    path = f"/api/v1/admin/agents/{factory.agent().id}"
    effects = Effects(app, monkeypatch)

    client.patch(path, json={"schedulable": False}, headers=admin_headers)
    client.patch(path, json={"schedulable": False}, headers=admin_headers)  # changes nothing
    assert effects.wakes == 1
    client.patch(path, json={"schedulable": True}, headers=admin_headers)
    assert effects.wakes == 2
    client.patch(path, json={"resource_group": "batch"}, headers=admin_headers)
    assert effects.wakes == 3


def issue(client: TestClient, headers: dict[str, str], group: str = "default") -> dict[str, str]:
    response = client.post(
        "/api/v1/admin/agent-tokens", json={"resource_group": group}, headers=headers
    )
    assert response.status_code == 201, response.text
    issued: dict[str, str] = response.json()
    return issued


def test_tokens_are_listed_and_revoked_tokens_cannot_register(
    client: TestClient, database: Database, admin_headers: dict[str, str]
) -> None:
    issued = issue(client, admin_headers)
    assert issued["token"].startswith(issued["prefix"])
    listed = client.get("/api/v1/admin/agent-tokens", headers=admin_headers).json()
    row = next(token for token in listed["data"] if token["id"] == issued["id"])
    assert row["resource_group"] == "default"
    assert row["created_by"].startswith("user")
    assert row["revoked_at"] is None
    assert "token" not in row
    agent = auth_of(issued["token"])
    first = client.post("/api/v1/agent/register", json=registration("n-1"), auth=agent)
    assert first.status_code == 200
    revoked = client.delete(f"/api/v1/admin/agent-tokens/{issued['id']}", headers=admin_headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    refused = client.post("/api/v1/agent/register", json=registration("n-2"), auth=agent)
    assert refused.status_code == 401
    beat = client.post("/api/v1/agent/heartbeat", json={"agent_id": "n-1"}, auth=agent)
    assert beat.status_code == 401
    assert audit_actions(database, issued["id"]) == ["agent.token_create", "agent.token_revoke"]
    missing = client.delete(f"/api/v1/admin/agent-tokens/{uuid.uuid4()}", headers=admin_headers)
    assert missing.status_code == 404
    no_group = client.post(
        "/api/v1/admin/agent-tokens", json={"resource_group": "nope"}, headers=admin_headers
    )
    assert no_group.status_code == 404
