"""The agent protocol over HTTP: tokens, registration, heartbeats, the desired state."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shipyard.agents.models import Agent, AgentStatus
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.scheduler.service import schedule_once
from shipyard.sessions.models import ComputeSession, SessionStatus, SessionType
from tests.api.effects_helpers import Effects
from tests.factories import Factory
from tests.signed_agent import (
    agent_auth,
    auth_of,
    body_of,
    new_agent_token,
    registration,
    signed_headers,
)

REGISTER = "/api/v1/agent/register"


def test_register_needs_a_valid_agent_signature(client: TestClient, database: Database) -> None:
    raw = new_agent_token(database)
    body = body_of(registration())
    made_up = signed_headers("sya_made-up", method="POST", target=REGISTER, body=body)
    for headers in ({}, {"Authorization": f"Bearer {raw}"}, made_up):
        response = client.post(REGISTER, content=body, headers=headers)
        assert response.status_code == 401
    ok = client.post(REGISTER, json=registration(), auth=auth_of(raw))
    assert ok.status_code == 200
    assert ok.json()["resource_group"] == "default"
    assert ok.json()["heartbeat_interval"] == 5.0


def test_bad_registrations_are_refused(client: TestClient, database: Database) -> None:
    auth = agent_auth(database)
    for body in (
        registration(agent_id="../x"),
        registration(capacity={"cpu": "-1"}),
        registration(capacity={"warp": "1"}),
        registration(instance="short"),
        registration(api_secret="x" * 40),
        {"agent_id": "x"},
    ):
        response = client.post("/api/v1/agent/register", json=body, auth=auth)
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


@pytest.mark.smoke
@pytest.mark.db
def test_desired_state_and_reports_drive_the_lifecycle(
    client: TestClient, database: Database, factory: Factory
) -> None:
    auth = agent_auth(database)
    client.post("/api/v1/agent/register", json=registration(), auth=auth)
    session = factory.session(factory.user().user, cpu="1", mem="1g", command="echo hi")
    with database.session() as db:
        schedule_once(db)
    state = client.get(
        "/api/v1/agent/desired", params={"agent_id": "node-1", "after": -1}, auth=auth
    ).json()
    assert [s["session_id"] for s in state["sessions"]] == [str(session.id)]
    spec = state["sessions"][0]
    assert (spec["kind"], spec["command"]) == ("batch", "echo hi")  # the agent builds argv
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
        auth=auth,
    )
    assert beat.status_code == 200
    with database.session() as db:
        found = db.get(ComputeSession, session.id)
        assert found is not None
        assert found.status is SessionStatus.RUNNING


def test_a_terminal_session_is_sent_without_a_command(
    client: TestClient, database: Database, factory: Factory
) -> None:
    auth = agent_auth(database)
    client.post("/api/v1/agent/register", json=registration(), auth=auth)
    factory.session(factory.user().user, kind=SessionType.INTERACTIVE, command="")
    with database.session() as db:
        schedule_once(db)

    state = client.get("/api/v1/agent/desired", params={"agent_id": "node-1"}, auth=auth).json()

    assert [(s["kind"], s["command"]) for s in state["sessions"]] == [("interactive", None)]


def test_capacity_that_joins_returns_or_frees_up_wakes_the_scheduler(
    app: FastAPI,
    client: TestClient,
    database: Database,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auth = agent_auth(database)
    effects = Effects(app, monkeypatch)
    beat = {"agent_id": "node-1", "sessions": []}

    client.post("/api/v1/agent/register", json=registration(), auth=auth)
    assert effects.wakes == 1
    session = factory.session(factory.user().user)
    with database.session() as db:
        schedule_once(db)
    running = {"session_id": str(session.id), "running": True}
    effects.clear()
    client.post("/api/v1/agent/heartbeat", json={**beat, "sessions": [running]}, auth=auth)
    assert effects.wakes == 0  # nothing ended, nothing came back

    client.post("/api/v1/agent/heartbeat", json=beat, auth=auth)  # it no longer runs
    assert effects.wakes == 1
    with database.session() as db:
        agent = db.get(Agent, "node-1")
        assert agent is not None
        agent.status = AgentStatus.LOST
        db.commit()
    effects.clear()
    client.post("/api/v1/agent/heartbeat", json=beat, auth=auth)
    assert effects.wakes == 1


@pytest.mark.db
def test_long_poll_returns_as_soon_as_something_changes(
    client: TestClient, database: Database, factory: Factory
) -> None:
    auth = agent_auth(database)
    client.post("/api/v1/agent/register", json=registration(), auth=auth)
    version = client.get("/api/v1/agent/desired", params={"agent_id": "node-1"}, auth=auth).json()[
        "version"
    ]
    started = time.monotonic()
    idle = client.get(
        "/api/v1/agent/desired",
        params={"agent_id": "node-1", "after": version, "wait": 0.5},
        auth=auth,
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
        auth=auth,
    ).json()
    assert time.monotonic() - started < 5
    assert woke["version"] > version
    assert len(woke["sessions"]) == 1


def test_heartbeats_for_unknown_agents_are_refused(client: TestClient, database: Database) -> None:
    auth = agent_auth(database)
    response = client.post(
        "/api/v1/agent/heartbeat", json={"agent_id": "ghost", "sessions": []}, auth=auth
    )
    assert response.status_code == 404
    assert "register" in response.json()["error"]["message"]
    bogus = {"agent_id": "ghost", "sessions": [{"session_id": str(uuid.uuid4())}]}
    assert client.post("/api/v1/agent/heartbeat", json=bogus, auth=auth).status_code == 422


def test_an_agent_without_sandbox_gets_no_sessions_off_loopback(
    client: TestClient, database: Database, factory: Factory, settings: Settings
) -> None:
    auth = agent_auth(database)
    bare = {"sandbox": "none", "cgroups": "none", "rlimits": True}
    client.post("/api/v1/agent/register", json=registration(enforcement=bare), auth=auth)
    with database.session() as db:
        agent = db.get(Agent, "node-1")
        assert agent is not None
        assert agent.schedulable is True  # the test manager listens on loopback
    settings.host = "0.0.0.0"  # noqa: S104 - what a shared manager would listen on
    client.post("/api/v1/agent/register", json=registration(enforcement=bare), auth=auth)
    with database.session() as db:
        agent = db.get(Agent, "node-1")
        assert agent is not None
        assert agent.schedulable is False
