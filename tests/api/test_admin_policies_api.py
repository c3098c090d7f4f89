"""Resource policies through the admin API: list, create, update, delete, default, limits."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shipyard.audit.models import Action, AuditEntry
from shipyard.db import Database
from shipyard.policies.models import PolicyKind, ResourcePolicy
from shipyard.projects.models import Project
from shipyard.users.models import User
from tests.api.test_sessions_api import bearer
from tests.factories import Factory

API = "/api/v1/admin/policies"


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.admin())


def create(client: TestClient, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(API, json=body, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def policy_count(database: Database) -> int:
    with database.session() as db:
        return db.scalar(select(func.count()).select_from(ResourcePolicy)) or 0


def actions(database: Database) -> list[str]:
    with database.session() as db:
        return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.at)))


def assign(database: Database, user: User, policy_id: str) -> None:
    with database.session() as db:
        db.merge(user).resource_policy_id = uuid.UUID(policy_id)
        db.commit()


def test_list_shows_both_defaults_with_their_use(
    client: TestClient, factory: Factory, admin: dict[str, str]
) -> None:
    factory.user()
    factory.project()
    listed = client.get(API, headers=admin).json()
    defaults = {p["kind"]: p for p in listed["data"] if p["is_default"]}
    assert set(defaults) == {"user", "project"}
    assert defaults["user"]["users"] >= 2  # the admin and the user, neither with a policy
    assert defaults["project"]["projects"] >= 2  # the default project and the new one
    assert defaults["user"]["slots"] == {"cpu": "inf", "cuda.device": "inf", "mem": "inf"}
    assert listed["count"] == len(listed["data"])
    only_users = client.get(API, params={"kind": "user"}, headers=admin).json()
    assert {p["kind"] for p in only_users["data"]} == {"user"}


@pytest.mark.smoke
def test_create_with_limits_units_and_unlimited(
    client: TestClient, admin: dict[str, str], database: Database
) -> None:
    body = create(
        client,
        admin,
        name="gpu-users",
        kind="user",
        slots={"cpu": "8", "mem": "32g", "cuda.device": "unlimited"},
        max_concurrent_sessions=3,
        max_pending_sessions="",
        max_session_lifetime="8h",
        idle_timeout=1800,
        max_folder_count=5,
        max_folder_size="100g",
        max_session_scratch="2g",
        on_quota="queue",
    )
    assert body["slots"] == {"cpu": "8", "mem": str(32 * 2**30), "cuda.device": "inf"}
    assert body["max_concurrent_sessions"] == 3
    assert body["max_pending_sessions"] is None
    assert (body["max_session_lifetime"], body["idle_timeout"]) == (8 * 3600, 1800)
    assert (body["max_folder_count"], body["max_folder_size"]) == (5, 100 * 2**30)
    assert body["max_session_scratch"] == 2 * 2**30
    assert body["on_quota"] == "queue"
    assert body["is_default"] is False
    shown = client.get(f"{API}/gpu-users", headers=admin).json()
    assert shown == body
    assert Action.POLICY_CREATE.value in actions(database)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slots": {"cpu": "-1"}}, "slots.cpu"),
        ({"slots": {"mem": "12 parsecs"}}, "slots.mem"),
        ({"slots": {"tpu": "1"}}, "slots.tpu"),
        ({"slots": {"cuda.device": "1.5"}}, "slots.cuda.device"),
        ({"max_concurrent_sessions": -2}, "max_concurrent_sessions"),
        ({"max_folder_size": "3 bananas"}, "max_folder_size"),
        ({"max_session_scratch": "3 bananas"}, "max_session_scratch"),
        ({"max_session_scratch": "15m"}, "max_session_scratch"),
        ({"max_session_scratch": 2**20}, "max_session_scratch"),
        ({"max_session_scratch": "unlimited"}, "max_session_scratch"),
        ({"max_session_lifetime": "soon"}, "max_session_lifetime"),
        ({"name": "bad name!"}, "name"),
        ({"name": "default"}, "name"),
    ],
)
def test_invalid_input_names_the_field_and_changes_nothing(
    client: TestClient,
    admin: dict[str, str],
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    before = policy_count(database)
    refused = client.post(API, json={"name": "fresh", "kind": "user", **body}, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"]["field"] == field
    assert policy_count(database) == before
    existing = create(client, admin, name="existing", kind="user", slots={"cpu": "4"})
    patched = client.patch(f"{API}/{existing['id']}", json=body, headers=admin)
    assert patched.status_code == 422
    assert patched.json()["error"]["details"]["field"] == field
    assert client.get(f"{API}/{existing['id']}", headers=admin).json() == existing


def test_every_wrong_field_is_reported_at_once(client: TestClient, admin: dict[str, str]) -> None:
    refused = client.post(
        API,
        json={"name": "x", "kind": "user", "slots": {"cpu": "-1"}, "max_pending_sessions": "lots"},
        headers=admin,
    )
    assert set(refused.json()["error"]["details"]["fields"]) == {
        "slots.cpu",
        "max_pending_sessions",
    }


@pytest.mark.db
def test_duplicate_name_is_per_kind(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin, name="team", kind="user")
    create(client, admin, name="team", kind="project")
    twice = client.post(API, json={"name": "team", "kind": "user"}, headers=admin)
    assert twice.status_code == 422
    assert "already called team" in twice.json()["error"]["message"]
    ambiguous = client.get(f"{API}/team", headers=admin)
    assert ambiguous.status_code == 422
    assert client.get(f"{API}/team", params={"kind": "project"}, headers=admin).json()["kind"] == (
        "project"
    )


def test_project_policies_refuse_user_only_limits(
    client: TestClient, admin: dict[str, str]
) -> None:
    refused = client.post(
        API, json={"name": "p", "kind": "project", "max_concurrent_sessions": 2}, headers=admin
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["field"] == "max_concurrent_sessions"
    body = create(client, admin, name="p", kind="project", slots={"cpu": "16"}, max_folder_count=9)
    assert (body["slots"]["cpu"], body["max_folder_count"]) == ("16", 9)


def test_scratch_size_defaults_to_the_site_and_takes_16m_up(
    client: TestClient, admin: dict[str, str]
) -> None:
    made = create(client, admin, name="scratchy", kind="user")
    assert made["max_session_scratch"] is None  # the site's session_scratch_mb
    path = f"{API}/{made['id']}"
    smallest = client.patch(path, json={"max_session_scratch": "16m"}, headers=admin).json()
    assert smallest["max_session_scratch"] == 16 * 2**20
    back = client.patch(path, json={"max_session_scratch": "default"}, headers=admin).json()
    assert back["max_session_scratch"] is None
    refused = client.post(
        API, json={"name": "p", "kind": "project", "max_session_scratch": "1g"}, headers=admin
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["field"] == "max_session_scratch"


def test_update_changes_only_the_given_slots(
    client: TestClient, admin: dict[str, str], database: Database
) -> None:
    made = create(client, admin, name="mixed", kind="user", slots={"cpu": "2", "mem": "4g"})
    patched = client.patch(
        f"{API}/{made['id']}", json={"slots": {"cpu": "unlimited"}, "name": "wide"}, headers=admin
    ).json()
    assert patched["slots"] == {"cpu": "inf", "mem": str(4 * 2**30), "cuda.device": "inf"}
    assert patched["name"] == "wide"
    assert Action.POLICY_UPDATE.value in actions(database)


def test_user_slot_limit_applies_to_the_next_request(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    factory.agent(cpu="8")
    account = factory.user()
    policy = create(client, admin, name="two-cpu", kind="user", slots={"cpu": "2"})
    assign(database, account.user, policy["id"])
    user = bearer(client, account)
    session = {"command": "true", "resources": {"cpu": "3", "mem": "1g"}}
    refused = client.post("/api/v1/sessions", json=session, headers=user)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "CPU: this asks for 3 cores, but your limit of 2 cores leaves 2 cores (0 cores in use)."
    )
    client.patch(f"{API}/{policy['id']}", json={"slots": {"cpu": None}}, headers=admin)
    accepted = client.post("/api/v1/sessions", json=session, headers=user)
    assert accepted.status_code == 201, accepted.text


def test_project_slot_limit_applies_to_the_next_request(
    client: TestClient, factory: Factory, admin: dict[str, str]
) -> None:
    factory.agent(cpu="8")
    account = factory.user()
    project = factory.project(members=(account.user,))
    policy = create(client, admin, name="small-team", kind="project", slots={"cpu": "1"})
    client.patch(
        f"/api/v1/admin/projects/{project.id}",
        json={"resource_policy": "small-team"},
        headers=admin,
    )
    user = bearer(client, account)
    session = {"command": "true", "project": project.name, "resources": {"cpu": "2"}}
    refused = client.post("/api/v1/sessions", json=session, headers=user)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "CPU: this asks for 2 cores, but the project's limit of 1 core leaves 1 core"
        " (0 cores in use)."
    )
    client.patch(f"{API}/{policy['id']}", json={"slots": {"cpu": "4"}}, headers=admin)
    assert client.post("/api/v1/sessions", json=session, headers=user).status_code == 201


@pytest.mark.db
def test_delete_is_refused_while_in_use_and_for_the_default(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    account = factory.user()
    policy = create(client, admin, name="used", kind="user")
    assign(database, account.user, policy["id"])
    refused = client.delete(f"{API}/{policy['id']}", headers=admin)
    assert refused.status_code == 409
    assert "in use by 1 user(s) and 0 project(s)" in refused.json()["error"]["message"]
    default = client.get(f"{API}/default", params={"kind": "user"}, headers=admin).json()
    assert client.delete(f"{API}/{default['id']}", headers=admin).status_code == 409
    assign_default = client.post(f"{API}/used/default", headers=admin)
    assert assign_default.json()["is_default"] is True
    with database.session() as db:
        db.merge(account.user).resource_policy_id = None
        db.commit()
    still_default = client.delete(f"{API}/{policy['id']}", headers=admin)
    assert still_default.status_code == 409  # now the default itself
    client.post(f"{API}/{default['id']}/default", headers=admin)
    assert client.delete(f"{API}/{policy['id']}", headers=admin).status_code == 204
    assert client.get(f"{API}/{policy['id']}", headers=admin).status_code == 404
    assert Action.POLICY_DELETE.value in actions(database)


@pytest.mark.db
def test_make_default_moves_users_without_a_policy(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    factory.agent(cpu="8")
    account = factory.user()
    create(client, admin, name="strict", kind="user", slots={"cpu": "1"})
    made = client.post(f"{API}/strict/default", headers=admin).json()
    assert made["is_default"] is True
    assert made["users"] >= 2
    with database.session() as db:
        defaults = db.scalars(
            select(ResourcePolicy.name).where(
                ResourcePolicy.kind == PolicyKind.USER, ResourcePolicy.is_default.is_(True)
            )
        ).all()
    assert defaults == ["strict"]
    session = {"command": "true", "resources": {"cpu": "2"}}
    refused = client.post("/api/v1/sessions", json=session, headers=bearer(client, account))
    assert refused.status_code == 409


def test_policy_routes_are_refused_for_a_normal_user(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    made = create(client, admin, name="mine", kind="project")
    user = bearer(client, factory.user())
    before = policy_count(database)
    calls = [
        ("GET", API, None),
        ("POST", API, {"name": "x", "kind": "user"}),
        ("GET", f"{API}/{made['id']}", None),
        ("PATCH", f"{API}/{made['id']}", {"name": "y"}),
        ("POST", f"{API}/{made['id']}/default", None),
        ("DELETE", f"{API}/{made['id']}", None),
    ]
    for method, path, body in calls:
        response = client.request(method, path, json=body, headers=user)
        assert response.status_code == 403, (method, path)
    assert policy_count(database) == before
    with database.session() as db:
        assert db.get(Project, uuid.uuid4()) is None
        assert db.get(ResourcePolicy, uuid.UUID(made["id"])).name == "mine"  # type: ignore[union-attr]
