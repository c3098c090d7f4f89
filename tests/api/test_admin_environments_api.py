"""Environments through the admin API: list, add, enable, disable, rescan; audited; admins only."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.audit.models import AuditEntry
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.scheduler.service import schedule_once
from shipyard.sessions.models import ComputeSession, SessionStatus
from tests.api.test_sessions_api import bearer
from tests.factories import Factory
from tests.unit.test_environments import fake_venv

BASE = "/api/v1/admin/environments"
ROUTES = [
    ("GET", BASE),
    ("POST", BASE),
    ("POST", f"{BASE}/rescan"),
    ("PATCH", f"{BASE}/python"),
]


@pytest.fixture
def headers(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.admin())


def actions(database: Database) -> list[str]:
    with database.session() as db:
        query = select(AuditEntry.action).where(AuditEntry.target_type == "environment")
        return list(db.scalars(query.order_by(AuditEntry.at)))


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_normal_users_are_refused(
    client: TestClient, factory: Factory, method: str, path: str
) -> None:
    user = bearer(client, factory.user())
    assert client.request(method, path, headers=user, json={}).status_code == 403


def test_add_and_list(client: TestClient, headers: dict[str, str], database: Database) -> None:
    body = {"name": "torch", "interpreter": "/usr/bin/python3", "description": "PyTorch"}
    assert client.post(BASE, json=body, headers=headers).status_code == 201
    listed = client.get(BASE, headers=headers).json()
    assert listed["count"] == 2
    rows = {env["name"]: env for env in listed["data"]}
    assert rows["torch"]["source"] == "admin"
    assert rows["python"]["source"] == "builtin"
    relative = client.post(BASE, json={"name": "rel", "interpreter": "bin/python"}, headers=headers)
    assert relative.status_code == 422
    assert actions(database) == ["environment.add"]


def test_a_disabled_environment_is_refused_to_new_sessions_only(
    client: TestClient, factory: Factory, headers: dict[str, str], database: Database
) -> None:
    factory.agent()
    user = bearer(client, factory.user())
    spec = {"type": "batch", "command": "sleep 1", "environment": "python"}
    running = client.post("/api/v1/sessions", json=spec, headers=user)
    assert running.status_code == 201, running.text
    with database.session() as db:
        schedule_once(db)
    off = client.patch(f"{BASE}/python", json={"enabled": False}, headers=headers)
    assert off.status_code == 200
    assert off.json()["enabled"] is False
    refused = client.post("/api/v1/sessions", json=spec, headers=user)
    assert refused.status_code == 404
    assert "Unknown environment" in refused.json()["error"]["message"]
    with database.session() as db:
        kept = db.get_one(ComputeSession, uuid.UUID(running.json()["id"]))
        assert kept.status is SessionStatus.SCHEDULED
    offered = client.get("/api/v1/environments", headers=user).json()
    assert "python" not in [env["name"] for env in offered]
    on = client.patch(f"{BASE}/python", json={"enabled": True}, headers=headers)
    assert on.json()["enabled"] is True
    assert client.post("/api/v1/sessions", json=spec, headers=user).status_code == 201
    assert actions(database) == ["environment.disable", "environment.enable"]
    missing = client.patch(f"{BASE}/nope", json={"enabled": False}, headers=headers)
    assert missing.status_code == 404
    bad = client.patch(f"{BASE}/python", json={"enabled": "maybe"}, headers=headers)
    assert bad.status_code == 422


def test_rescan_reports_and_is_audited(
    client: TestClient,
    headers: dict[str, str],
    database: Database,
    settings: Settings,
    tmp_path: Path,
) -> None:
    settings.environment_dirs.append(tmp_path)
    fake_venv(tmp_path, "torch")
    report = client.post(f"{BASE}/rescan", headers=headers)
    assert report.status_code == 200
    assert report.json() == {"added": ["torch"], "kept": [], "disabled": []}
    listed = {env["name"]: env for env in client.get(BASE, headers=headers).json()["data"]}
    assert listed["torch"]["source"] == "scan"
    assert actions(database) == ["environment.rescan"]
