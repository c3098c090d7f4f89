"""Projects through the admin API: list, create, update, members, groups, deactivation."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shipyard.agents import service as agents
from shipyard.audit.models import Action, AuditEntry
from shipyard.db import Database
from shipyard.projects.models import Project, ProjectMember
from shipyard.scheduler.service import schedule_once
from shipyard.sessions.models import ComputeSession, SessionStatus
from shipyard.users.models import UserStatus
from tests.api.test_sessions_api import bearer
from tests.factories import Factory

API = "/api/v1/admin/projects"


def schedule(database: Database) -> None:
    with database.session() as db:
        schedule_once(db)


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.admin())


def create(client: TestClient, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(API, json=body, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def audit_actions(database: Database) -> list[str]:
    with database.session() as db:
        return list(db.scalars(select(AuditEntry.action)))


def project_count(database: Database) -> int:
    with database.session() as db:
        return db.scalar(select(func.count()).select_from(Project)) or 0


@pytest.mark.db
def test_create_show_and_list(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    body = create(client, admin, name="vision.lab", description="Cameras")
    assert (body["name"], body["description"], body["is_active"]) == ("vision.lab", "Cameras", True)
    assert body["resource_groups"] == ["default"]
    assert body["resource_policy"]["is_default"] is True
    assert (body["own_policy"], body["member_count"], body["usage"]) == (False, 0, {})
    assert client.get(f"{API}/vision.lab", headers=admin).json() == body
    assert client.get(f"{API}/{body['id']}", headers=admin).json() == body
    listed = client.get(API, params={"search": "CAMERA"}, headers=admin).json()
    assert [p["name"] for p in listed["data"]] == ["vision.lab"]
    assert listed["count"] == 1
    assert Action.PROJECT_CREATE.value in audit_actions(database)


@pytest.mark.db
def test_list_shows_usage_from_the_ledger_and_pages(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    factory.agent(cpu="8")
    account = factory.user()
    project = factory.project(members=(account.user,))
    factory.session(account.user, cpu="2", project=project.name)
    schedule(database)
    shown = client.get(f"{API}/{project.name}", headers=admin).json()
    assert shown["usage"]["cpu"] == "2"
    assert shown["sessions"] == 1
    assert shown["member_count"] == 1
    for _ in range(3):
        factory.project()
    first = client.get(API, params={"per_page": 2}, headers=admin).json()
    second = client.get(API, params={"per_page": 2, "page": 2}, headers=admin).json()
    assert first["count"] == second["count"] == project_count(database)
    assert len(first["data"]) == 2
    assert {p["id"] for p in first["data"]}.isdisjoint({p["id"] for p in second["data"]})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "has space"}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "default"}, "name"),
        ({"name": "ok", "resource_policy": "nope"}, "resource_policy"),
        ({"name": "ok", "resource_groups": ["nowhere"]}, "resource_groups"),
    ],
)
def test_bad_creation_names_the_field(
    client: TestClient, admin: dict[str, str], database: Database, body: dict[str, Any], field: str
) -> None:
    before = project_count(database)
    refused = client.post(API, json=body, headers=admin)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    if field != "name" or body["name"] in ("", "has space", "default"):
        assert error["details"]["field"] == field
    assert project_count(database) == before


def test_update_settings_policy_and_groups(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    with database.session() as db:
        agents.create_group(db, name="gpu")
    client.post("/api/v1/admin/policies", json={"name": "team", "kind": "project"}, headers=admin)
    made = create(client, admin, name="alpha")
    patched = client.patch(
        f"{API}/alpha",
        json={
            "name": "beta",
            "description": "Renamed",
            "resource_policy": "team",
            "resource_groups": ["gpu", "default"],
        },
        headers=admin,
    ).json()
    assert (patched["id"], patched["name"], patched["description"]) == (
        made["id"],
        "beta",
        "Renamed",
    )
    assert patched["resource_policy"]["name"] == "team"
    assert patched["own_policy"] is True
    assert patched["resource_groups"] == ["default", "gpu"]
    back = client.patch(
        f"{API}/beta", json={"resource_policy": None, "resource_groups": ["gpu"]}, headers=admin
    ).json()
    assert back["own_policy"] is False
    assert back["resource_groups"] == ["gpu"]
    logged = audit_actions(database)
    for action in (
        Action.PROJECT_UPDATE,
        Action.PROJECT_POLICY_CHANGE,
        Action.PROJECT_GROUPS_CHANGE,
    ):
        assert action.value in logged


def test_a_wrong_field_changes_nothing(client: TestClient, admin: dict[str, str]) -> None:
    made = create(client, admin, name="steady")
    refused = client.patch(
        f"{API}/steady",
        json={"name": "renamed", "resource_groups": ["missing"]},
        headers=admin,
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["field"] == "resource_groups"
    assert client.get(f"{API}/steady", headers=admin).json() == made


def test_the_default_project_cannot_be_renamed_deactivated_or_left(
    client: TestClient, factory: Factory, admin: dict[str, str]
) -> None:
    account = factory.user()
    renamed = client.patch(f"{API}/default", json={"name": "other"}, headers=admin)
    assert renamed.status_code == 422
    assert renamed.json()["error"]["message"] == "The default project cannot be renamed."
    off = client.patch(f"{API}/default", json={"is_active": False}, headers=admin)
    assert off.status_code == 422
    assert off.json()["error"]["details"]["field"] == "is_active"
    removed = client.delete(f"{API}/default/members/{account.email}", headers=admin)
    assert removed.status_code == 409
    assert client.get(f"{API}/default", headers=admin).json()["is_active"] is True


def test_deactivation_cancels_pending_and_refuses_new_sessions_running_ones_stay(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    factory.agent(cpu="4")
    account = factory.user()
    project = factory.project(members=(account.user,))
    running = factory.session(account.user, cpu="1", project=project.name)
    schedule(database)
    pending = factory.session(account.user, cpu="4", project=project.name)
    off = client.patch(f"{API}/{project.name}", json={"is_active": False}, headers=admin)
    assert off.json()["is_active"] is False
    with database.session() as db:
        assert db.get(ComputeSession, pending.id).status is SessionStatus.CANCELLED  # type: ignore[union-attr]
        assert db.get(ComputeSession, running.id).status is SessionStatus.SCHEDULED  # type: ignore[union-attr]
    user = bearer(client, account)
    refused = client.post(
        "/api/v1/sessions",
        json={"command": "true", "project": project.name, "resources": {"cpu": "1"}},
        headers=user,
    )
    assert refused.status_code == 404
    assert "No such project" in refused.json()["error"]["message"]


@pytest.mark.smoke
def test_members_add_role_remove(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    account = factory.user()
    create(client, admin, name="crew")
    added = client.post(f"{API}/crew/members", json={"email": account.email.upper()}, headers=admin)
    assert added.status_code == 201, added.text
    assert (added.json()["email"], added.json()["role"]) == (account.email, "member")
    twice = client.post(f"{API}/crew/members", json={"email": account.email}, headers=admin)
    assert twice.status_code == 409
    owner = client.patch(
        f"{API}/crew/members/{account.user.id}", json={"role": "owner"}, headers=admin
    )
    assert owner.json()["role"] == "owner"
    listed = client.get(f"{API}/crew/members", headers=admin).json()
    assert [(m["email"], m["role"]) for m in listed["data"]] == [(account.email, "owner")]
    assert client.get(f"{API}/crew", headers=admin).json()["member_count"] == 1
    gone = client.delete(f"{API}/crew/members/{account.email}", headers=admin)
    assert gone.status_code == 204
    assert client.get(f"{API}/crew/members", headers=admin).json()["count"] == 0
    again = client.delete(f"{API}/crew/members/{account.email}", headers=admin)
    assert again.status_code == 404
    logged = audit_actions(database)
    for action in (
        Action.PROJECT_MEMBER_ADD,
        Action.PROJECT_MEMBER_ROLE,
        Action.PROJECT_MEMBER_REMOVE,
    ):
        assert action.value in logged


def test_only_active_known_users_can_be_added(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    create(client, admin, name="closed")
    unknown = client.post(
        f"{API}/closed/members", json={"email": "nobody@example.org"}, headers=admin
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["message"] == "No active user has the email nobody@example.org."
    assert unknown.json()["error"]["details"]["field"] == "email"
    account = factory.user()
    with database.session() as db:
        db.merge(account.user).status = UserStatus.INACTIVE
        db.commit()
    inactive = client.post(f"{API}/closed/members", json={"email": account.email}, headers=admin)
    assert inactive.status_code == 422
    with database.session() as db:
        assert (
            db.scalar(
                select(func.count())
                .select_from(ProjectMember)
                .join(Project)
                .where(Project.name == "closed")
            )
            == 0
        )


def test_project_routes_are_refused_for_a_normal_user(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    account = factory.user()
    create(client, admin, name="guarded")
    user = bearer(client, account)
    calls = [
        ("GET", API, None),
        ("POST", API, {"name": "mine"}),
        ("GET", f"{API}/guarded", None),
        ("PATCH", f"{API}/guarded", {"name": "taken"}),
        ("GET", f"{API}/guarded/members", None),
        ("POST", f"{API}/guarded/members", {"email": account.email}),
        ("PATCH", f"{API}/guarded/members/{account.email}", {"role": "owner"}),
        ("DELETE", f"{API}/guarded/members/{account.email}", None),
    ]
    for method, path, body in calls:
        response = client.request(method, path, json=body, headers=user)
        assert response.status_code == 403, (method, path)
    assert client.get(f"{API}/guarded", headers=admin).json()["name"] == "guarded"
    assert client.get(f"{API}/guarded/members", headers=admin).json()["count"] == 0
