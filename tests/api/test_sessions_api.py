"""Sessions through the API: creation, bad input, listing, visibility, termination."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shipyard.db import Database
from shipyard.resources import ledger
from shipyard.resources.models import Scope, Usage
from shipyard.scheduler.service import schedule_once
from shipyard.sessions.models import ComputeSession, SessionStatus
from tests.api.effects_helpers import Effects
from tests.factories import Account, Factory


def bearer(client: TestClient, account: Account) -> dict[str, str]:
    token = client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": account.password}
    ).json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def headers(client: TestClient, factory: Factory) -> dict[str, str]:
    factory.agent(cpu="8", mem="16g")
    return bearer(client, factory.user())


@pytest.mark.smoke
def test_create_list_info_terminate(client: TestClient, headers: dict[str, str]) -> None:
    created = client.post(
        "/api/v1/sessions",
        json={
            "type": "batch",
            "command": "echo hi",
            "resources": {"cpu": "0.5", "mem": "256m"},
            "name": "hello",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "PENDING"
    assert body["resources"] == {"cpu": "0.5", "mem": "268435456"}
    assert body["project"] == "default"
    assert body["resource_group"] == "default"
    assert body["environment"] == "python"
    listed = client.get("/api/v1/sessions", headers=headers).json()
    assert listed["count"] == 1
    assert listed["data"][0]["name"] == "hello"
    assert client.get("/api/v1/sessions/hello", headers=headers).json()["id"] == body["id"]
    ended = client.delete(f"/api/v1/sessions/{body['id']}", headers=headers).json()
    assert ended["status"] == "CANCELLED"
    assert client.get("/api/v1/sessions", headers=headers).json()["count"] == 0
    assert client.get("/api/v1/sessions?all=true", headers=headers).json()["count"] == 1


def test_a_new_session_wakes_the_scheduler_and_a_refused_one_does_not(
    app: FastAPI, client: TestClient, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    effects = Effects(app, monkeypatch)

    refused = client.post("/api/v1/sessions", json={"command": " "}, headers=headers)
    assert (refused.status_code, effects.wakes) == (422, 0)
    created = client.post("/api/v1/sessions", json={"command": "true"}, headers=headers)

    assert (created.status_code, effects.wakes, effects.woken) == (201, 1, [])


def test_terminating_a_running_session_wakes_its_agent(
    app: FastAPI,
    client: TestClient,
    factory: Factory,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    agent = factory.agent()
    account = factory.user()
    session = factory.session(account.user)
    with database.session() as db:
        schedule_once(db)
    effects = Effects(app, monkeypatch)

    ended = client.delete(f"/api/v1/sessions/{session.id}", headers=bearer(client, account))

    assert ended.json()["status"] == SessionStatus.TERMINATING.value
    assert effects.woken == [[agent.id]]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"environment": "nope", "command": "x"}, 404, "environment"),
        ({"command": "x", "resources": {"cpu": "64"}}, 422, "resources"),
        ({"command": "x", "resources": {"cpu": "-1"}}, 422, "slot"),
        ({"command": "x", "resources": {"cpu": "lots"}}, 422, "slot"),
        ({"command": "x", "resources": {"mem": "1q"}}, 422, "slot"),
        ({"command": "x", "resources": {"gpu": "1"}}, 422, "slot"),
        ({"command": "x", "resources": {"cpu": "0"}}, 422, "resources"),
        ({"command": ""}, 422, "command"),
        ({"command": "x", "name": "../etc"}, 422, None),
        ({"command": "x", "name": "a" * 65}, 422, None),
        ({"command": "x", "name": "spaces are odd"}, 422, None),
        ({"command": "x", "project": "nope"}, 404, "project"),
        ({"command": "x", "resource_group": "nope"}, 404, "resource_group"),
        ({"command": "x", "type": "party"}, 422, None),
        ({"command": "x\x00"}, 422, None),
    ],
)
def test_bad_requests_are_refused_and_allocate_nothing(
    client: TestClient,
    headers: dict[str, str],
    database: Database,
    body: dict[str, object],
    status: int,
    field: str | None,
) -> None:
    response = client.post("/api/v1/sessions", json=body, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"]
    if field is not None:
        assert field in str(error["details"]), error
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(ComputeSession)) == 0
        assert db.scalar(select(func.count()).select_from(Usage)) == 0


def test_no_agent_yet_is_a_clear_error(client: TestClient, factory: Factory) -> None:
    headers = bearer(client, factory.user())
    response = client.post("/api/v1/sessions", json={"command": "true"}, headers=headers)
    assert response.status_code == 422
    assert "No agent has joined resource group default yet." in response.json()["error"]["message"]


def test_other_users_sessions_do_not_exist_for_you(
    client: TestClient, factory: Factory, headers: dict[str, str]
) -> None:
    mine = client.post("/api/v1/sessions", json={"command": "true"}, headers=headers).json()
    stranger = bearer(client, factory.user())
    for call in (
        lambda: client.get(f"/api/v1/sessions/{mine['id']}", headers=stranger),
        lambda: client.delete(f"/api/v1/sessions/{mine['id']}", headers=stranger),
        lambda: client.get(f"/api/v1/sessions/{mine['id']}/logs", headers=stranger),
    ):
        response = call()
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "No such session."
    assert client.get("/api/v1/sessions", headers=stranger).json()["count"] == 0


@pytest.mark.db
def test_check_tells_which_limit_blocks(
    client: TestClient, factory: Factory, database: Database
) -> None:
    factory.agent(cpu="4")
    account = factory.user()
    factory.user_policy(account.user, slots={"cpu": "2"})
    headers = bearer(client, account)
    fits = client.post("/api/v1/sessions/check", json={"resources": {"cpu": "2"}}, headers=headers)
    assert fits.json()["fits"] is True
    assert fits.json()["remaining"]["user"]["cpu"] == "2"
    blocked = client.post(
        "/api/v1/sessions/check", json={"resources": {"cpu": "3"}}, headers=headers
    ).json()
    assert blocked["fits"] is False
    assert {block["limit"] for block in blocked["blocked_by"]} == {"user"}
    assert blocked["blocked_by"][0]["slots"] == ["cpu"]
    refused = client.post(
        "/api/v1/sessions", json={"command": "true", "resources": {"cpu": "3"}}, headers=headers
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "quota_exceeded"
    with database.session() as db:
        assert (
            ledger.held(db, Scope.USER, [str(account.user.id)])[str(account.user.id)]
            == ledger.EMPTY
        )


def test_only_admins_create_agent_tokens(client: TestClient, factory: Factory) -> None:
    user = bearer(client, factory.user())
    admin = bearer(client, factory.admin())
    refused = client.post("/api/v1/admin/agent-tokens", json={}, headers=user)
    assert refused.status_code == 403
    issued = client.post("/api/v1/admin/agent-tokens", json={}, headers=admin)
    assert issued.status_code == 201
    assert issued.json()["token"].startswith("sya_")
    unknown = client.post(
        "/api/v1/admin/agent-tokens", json={"resource_group": "nope"}, headers=admin
    )
    assert unknown.status_code == 404


def test_catalog_lists_environments_and_groups(client: TestClient, headers: dict[str, str]) -> None:
    envs = client.get("/api/v1/environments", headers=headers).json()
    assert [env["name"] for env in envs] == ["python"]
    assert envs[0]["apps"] == ["terminal"]
    groups = client.get("/api/v1/resource-groups", headers=headers).json()
    assert [group["name"] for group in groups] == ["default"]


def test_admins_register_and_rescan_environments(client: TestClient, factory: Factory) -> None:
    admin = bearer(client, factory.admin())
    user = bearer(client, factory.user())
    body = {"name": "py-sys", "interpreter": "/usr/bin/python3", "description": "system"}
    assert client.post("/api/v1/admin/environments", json=body, headers=user).status_code == 403
    created = client.post("/api/v1/admin/environments", json=body, headers=admin)
    assert created.status_code == 201
    assert created.json()["source"] == "admin"
    again = client.post("/api/v1/admin/environments", json=body, headers=admin)
    assert again.status_code == 409
    for bad in (
        {"name": "x", "interpreter": "python3"},
        {"name": "x", "apps": ["jupyter-party"]},
        {"name": "../x"},
    ):
        assert client.post("/api/v1/admin/environments", json=bad, headers=admin).status_code == 422
    names = [env["name"] for env in client.get("/api/v1/environments", headers=user).json()]
    assert names == ["py-sys", "python"]
    report = client.post("/api/v1/admin/environments/rescan", headers=admin).json()
    assert report == {"added": [], "kept": [], "disabled": []}


@pytest.mark.db
def test_check_reports_the_pending_limit(client: TestClient, factory: Factory) -> None:
    factory.agent(cpu="4")
    account = factory.user()
    factory.user_policy(account.user, max_pending=1)
    headers = bearer(client, account)
    assert (
        client.post("/api/v1/sessions", json={"command": "true"}, headers=headers).status_code
        == 201
    )
    report = client.post("/api/v1/sessions/check", json={}, headers=headers).json()
    assert report["fits"] is False
    assert [block["limit"] for block in report["blocked_by"]] == ["pending"]
