"""The agent protocol over HTTP: tokens, registration, heartbeats, the desired state."""

from __future__ import annotations

import threading
import time
import uuid

from fastapi.testclient import TestClient

from shipyard.agents import service as agents
from shipyard.agents.models import Agent
from shipyard.bootstrap import ensure_defaults
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.scheduler.service import schedule_once
from shipyard.sessions.models import ComputeSession, SessionStatus
from tests.factories import Factory


def agent_token(database: Database) -> dict[str, str]:
    with database.session() as db:
        ensure_defaults(db)
        raw, _token = agents.create_agent_token(db, group_name="default")
    return {"Authorization": f"Bearer {raw}"}


def registration(agent_id: str = "node-1", **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "agent_id": agent_id,
        "hostname": "node-1",
        "addr": "http://127.0.0.1:9",
        "version": "test",
        "capacity": {"cpu": "4", "mem": "8589934592"},
        "enforcement": {"sandbox": "bubblewrap", "cgroups": "v1", "rlimits": False},
        "api_secret": "x" * 40,
    }
    body.update(overrides)
    return body


def test_register_needs_a_valid_agent_token(client: TestClient, database: Database) -> None:
    for headers in ({}, {"Authorization": "Bearer sya_made-up"}):
        response = client.post("/api/v1/agent/register", json=registration(), headers=headers)
        assert response.status_code == 401
    ok = client.post("/api/v1/agent/register", json=registration(), headers=agent_token(database))
    assert ok.status_code == 200
    assert ok.json()["resource_group"] == "default"
    assert ok.json()["heartbeat_interval"] == 5.0


def test_bad_registrations_are_refused(client: TestClient, database: Database) -> None:
    headers = agent_token(database)
    for body in (
        registration(agent_id="../x"),
        registration(capacity={"cpu": "-1"}),
        registration(capacity={"warp": "1"}),
        registration(api_secret="short"),
        {"agent_id": "x"},
    ):
        response = client.post("/api/v1/agent/register", json=body, headers=headers)
        assert response.status_code == 422, body


def test_a_user_token_is_not_an_agent_token(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    token = client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": account.password}
    ).json()["token"]
    response = client.post(
        "/api/v1/agent/register",
        json=registration(),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401


def test_desired_state_and_reports_drive_the_lifecycle(
    client: TestClient, database: Database, factory: Factory
) -> None:
    headers = agent_token(database)
    client.post("/api/v1/agent/register", json=registration(), headers=headers)
    session = factory.session(factory.user().user, cpu="1", mem="1g", command="echo hi")
    with database.session() as db:
        schedule_once(db)
    state = client.get(
        "/api/v1/agent/desired", params={"agent_id": "node-1", "after": -1}, headers=headers
    ).json()
    assert [s["session_id"] for s in state["sessions"]] == [str(session.id)]
    spec = state["sessions"][0]
    assert spec["command"] == ["/bin/sh", "-c", "echo hi"]
    assert spec["cpu"] == "1"
    assert spec["mem"] == 2**30
    with database.session() as db:
        found = db.get(ComputeSession, session.id)
        assert found is not None
        assert found.status is SessionStatus.PREPARING

    report = {"session_id": str(session.id), "running": True}
    beat = client.post(
        "/api/v1/agent/heartbeat",
        json={"agent_id": "node-1", "sessions": [report]},
        headers=headers,
    )
    assert beat.status_code == 200
    with database.session() as db:
        found = db.get(ComputeSession, session.id)
        assert found is not None
        assert found.status is SessionStatus.RUNNING


def test_long_poll_returns_as_soon_as_something_changes(
    client: TestClient, database: Database, factory: Factory
) -> None:
    headers = agent_token(database)
    client.post("/api/v1/agent/register", json=registration(), headers=headers)
    version = client.get(
        "/api/v1/agent/desired", params={"agent_id": "node-1"}, headers=headers
    ).json()["version"]
    started = time.monotonic()
    idle = client.get(
        "/api/v1/agent/desired",
        params={"agent_id": "node-1", "after": version, "wait": 0.5},
        headers=headers,
    ).json()
    assert time.monotonic() - started >= 0.45
    assert idle["version"] == version

    owner = factory.user().user

    def start_one() -> None:
        time.sleep(0.3)
        factory.session(owner)
        with database.session() as db:
            schedule_once(db)

    threading.Thread(target=start_one).start()
    started = time.monotonic()
    woke = client.get(
        "/api/v1/agent/desired",
        params={"agent_id": "node-1", "after": version, "wait": 10},
        headers=headers,
    ).json()
    assert time.monotonic() - started < 5
    assert woke["version"] > version
    assert len(woke["sessions"]) == 1


def test_heartbeats_for_unknown_agents_are_refused(client: TestClient, database: Database) -> None:
    headers = agent_token(database)
    response = client.post(
        "/api/v1/agent/heartbeat", json={"agent_id": "ghost", "sessions": []}, headers=headers
    )
    assert response.status_code == 404
    assert "register" in response.json()["error"]["message"]
    bogus = {"agent_id": "ghost", "sessions": [{"session_id": str(uuid.uuid4())}]}
    assert client.post("/api/v1/agent/heartbeat", json=bogus, headers=headers).status_code == 422


def test_an_agent_without_sandbox_gets_no_sessions_off_loopback(
    client: TestClient, database: Database, factory: Factory, settings: Settings
) -> None:
    headers = agent_token(database)
    bare = {"sandbox": "none", "cgroups": "none", "rlimits": True}
    client.post("/api/v1/agent/register", json=registration(enforcement=bare), headers=headers)
    with database.session() as db:
        agent = db.get(Agent, "node-1")
        assert agent is not None
        assert agent.schedulable is True  # the test manager listens on loopback
    settings.host = "0.0.0.0"  # noqa: S104 - what a shared manager would listen on
    client.post("/api/v1/agent/register", json=registration(enforcement=bare), headers=headers)
    with database.session() as db:
        agent = db.get(Agent, "node-1")
        assert agent is not None
        assert agent.schedulable is False
