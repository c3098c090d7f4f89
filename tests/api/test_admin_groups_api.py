"""Resource groups through the admin API: list, create, edit, allowed projects; admins only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.audit.models import AuditEntry
from shipyard.db import Database
from shipyard.scheduler.service import schedule_once
from tests.api.test_sessions_api import bearer
from tests.factories import Factory

ROUTES = [
    ("GET", "/api/v1/admin/resource-groups"),
    ("POST", "/api/v1/admin/resource-groups"),
    ("GET", "/api/v1/admin/resource-groups/default"),
    ("PATCH", "/api/v1/admin/resource-groups/default"),
    ("PUT", "/api/v1/admin/resource-groups/default/projects"),
]
BASE = "/api/v1/admin/resource-groups"


@pytest.fixture
def headers(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.admin())


def actions(database: Database, label: str) -> list[str]:
    with database.session() as db:
        query = select(AuditEntry.action).where(AuditEntry.target_label == label)
        return list(db.scalars(query.order_by(AuditEntry.at)))


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_normal_users_are_refused(
    client: TestClient, factory: Factory, method: str, path: str
) -> None:
    user = bearer(client, factory.user())
    assert client.request(method, path, headers=user, json={}).status_code == 403


def test_create_edit_and_list(
    client: TestClient, headers: dict[str, str], database: Database
) -> None:
    body = {"name": "gpu.a-1", "description": "A100 nodes", "placement": "spread"}
    created = client.post(BASE, json=body, headers=headers)
    assert created.status_code == 201, created.text
    group = created.json()
    assert (group["name"], group["placement"], group["is_active"]) == ("gpu.a-1", "spread", True)
    assert group["projects"] == []
    again = client.post(BASE, json=body, headers=headers)
    assert again.status_code == 409
    changed = client.patch(
        f"{BASE}/gpu.a-1",
        json={"description": "new", "placement": "binpack", "is_active": False},
        headers=headers,
    )
    assert changed.status_code == 200
    assert (changed.json()["description"], changed.json()["is_active"]) == ("new", False)
    names = [g["name"] for g in client.get(BASE, headers=headers).json()["data"]]
    assert names == ["default", "gpu.a-1"]
    assert actions(database, "gpu.a-1") == ["group.create", "group.update"]
    assert client.get(f"{BASE}/nope", headers=headers).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "a b"},
        {"name": "x" * 65},
        {"name": ".hidden"},
        {"name": "ü"},
        {"name": "ok", "placement": "random"},
        {"name": "ok", "description": "a\x00b"},
        {"name": "ok", "extra": 1},
    ],
)
def test_bad_groups_are_refused(
    client: TestClient, headers: dict[str, str], body: dict[str, object]
) -> None:
    assert client.post(BASE, json=body, headers=headers).status_code == 422
    names = [g["name"] for g in client.get(BASE, headers=headers).json()["data"]]
    assert names == ["default"]


def test_the_default_group_stays_active_and_keeps_its_name(
    client: TestClient, headers: dict[str, str]
) -> None:
    refused = client.patch(f"{BASE}/default", json={"is_active": False}, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == "The default resource group cannot be deactivated."
    renamed = client.patch(f"{BASE}/default", json={"name": "other"}, headers=headers)
    assert renamed.status_code == 422
    assert client.get(f"{BASE}/default", headers=headers).json()["is_active"] is True


def test_allowed_projects_decide_where_sessions_may_run(
    client: TestClient, factory: Factory, headers: dict[str, str], database: Database
) -> None:
    member = factory.user()
    project = factory.project(members=(member.user,))
    client.post(BASE, json={"name": "gpu"}, headers=headers)
    factory.agent(group="gpu", cpu="4", mem="8g")
    user_headers = bearer(client, member)
    spec = {"type": "batch", "command": "true", "project": project.name, "resource_group": "gpu"}
    spec["resources"] = {"cpu": "1", "mem": "1g"}  # type: ignore[assignment]
    refused = client.post("/api/v1/sessions", json=spec, headers=user_headers)
    assert refused.status_code in (403, 404, 422), refused.text
    allowed = client.put(f"{BASE}/gpu/projects", json={"projects": [project.name]}, headers=headers)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["projects"] == [project.name]
    accepted = client.post("/api/v1/sessions", json=spec, headers=user_headers)
    assert accepted.status_code == 201, accepted.text
    with database.session() as db:
        schedule_once(db)
    group = client.get(f"{BASE}/gpu", headers=headers).json()
    assert (group["agents_alive"], group["agents_total"], group["sessions"]) == (1, 1, 1)
    cpu = next(figure for figure in group["slots"] if figure["slot"] == "cpu")
    assert (cpu["used"], cpu["capacity"]) == ("1", "4")
    by_id = client.put(
        f"{BASE}/gpu/projects", json={"projects": [str(project.id)]}, headers=headers
    )
    assert by_id.json()["projects"] == [project.name]
    unknown = client.put(f"{BASE}/gpu/projects", json={"projects": ["nope"]}, headers=headers)
    assert unknown.status_code == 422
    assert client.get(f"{BASE}/gpu", headers=headers).json()["projects"] == [project.name]
    cleared = client.put(f"{BASE}/gpu/projects", json={"projects": []}, headers=headers)
    assert cleared.json()["projects"] == []
    assert actions(database, "gpu") == [
        "group.create",
        "group.projects_change",
        "group.projects_change",
    ]
