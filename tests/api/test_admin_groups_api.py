"""Resource groups through the admin API: list, create, edit, allowed projects; admins only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.agents.models import ResourceGroup
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


@pytest.mark.smoke
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


# Network mode and allow-list ---------------------------------------------------------------


def stored_network(database: Database, name: str) -> tuple[str, list[str]]:
    with database.session() as db:
        group = db.scalars(select(ResourceGroup).where(ResourceGroup.name == name)).one()
        return group.network_mode.value, list(group.network_allow)


def test_network_mode_and_allow_list_are_set_tidied_and_audited(
    client: TestClient, headers: dict[str, str], database: Database
) -> None:
    plain = client.post(BASE, json={"name": "cpu"}, headers=headers).json()
    assert (plain["network_mode"], plain["network_allow"]) == ("outbound", [])
    body = {
        "name": "lab",
        "network_mode": "none",
        "network_allow": ["10.1.2.3/24", " 10.1.2.0/24", "10.9.0.5:0443", "10.9.0.5:443"],
    }
    created = client.post(BASE, json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["network_mode"] == "none"
    assert created.json()["network_allow"] == ["10.1.2.0/24", "10.9.0.5:443"]
    assert stored_network(database, "lab") == ("none", ["10.1.2.0/24", "10.9.0.5:443"])
    changed = client.patch(
        f"{BASE}/lab",
        json={"network_mode": "outbound", "network_allow": ["192.168.7.7/32:22"]},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert stored_network(database, "lab") == ("outbound", ["192.168.7.7:22"])
    untouched = client.patch(f"{BASE}/lab", json={"description": "x"}, headers=headers)
    assert untouched.json()["network_allow"] == ["192.168.7.7:22"]
    cleared = client.patch(f"{BASE}/lab", json={"network_allow": []}, headers=headers)
    assert cleared.json()["network_allow"] == []
    listed = {g["name"]: g for g in client.get(BASE, headers=headers).json()["data"]}
    assert (listed["lab"]["network_mode"], listed["lab"]["network_allow"]) == ("outbound", [])
    with database.session() as db:
        query = select(AuditEntry).where(AuditEntry.target_label == "lab")
        entries = list(db.scalars(query.order_by(AuditEntry.at)))
    assert [e.action for e in entries] == [
        "group.create",
        "group.update",
        "group.update",
        "group.update",
    ]
    assert entries[0].details["network_mode"] == "none"
    assert entries[1].details == {"network_mode": "outbound", "network_allow": ["192.168.7.7:22"]}
    assert entries[3].details == {"network_allow": []}


@pytest.mark.parametrize(
    "bad",
    [
        ["10.1.2.0/33"],
        ["not-an-address"],
        ["fd00::/8"],
        ["10.1.2.3:0", "10.1.2.3:65536", "10.1.2.3:ssh"],
        ["10.1.2.3:"],
        [""],
        ["0.0.0.0/0"],
        ["169.254.169.254"],
        ["127.0.0.1:5432"],
        ["a\x00"],
    ],
)
def test_bad_allow_entries_are_all_named_and_nothing_is_saved(
    client: TestClient, headers: dict[str, str], database: Database, bad: list[str]
) -> None:
    entries = ["10.1.2.0/24", *bad]
    refused = client.post(
        BASE,
        json={"name": "lab", "network_mode": "none", "network_allow": entries},
        headers=headers,
    )
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["details"] == {"field": "network_allow", "entries": bad}
    for entry in bad:
        assert repr(entry) in error["message"]
    assert "10.1.2.0/24" not in error["details"]["entries"]
    assert client.get(f"{BASE}/lab", headers=headers).status_code == 404
    client.post(BASE, json={"name": "lab", "network_allow": ["10.0.0.1"]}, headers=headers)
    again = client.patch(
        f"{BASE}/lab", json={"network_mode": "none", "network_allow": entries}, headers=headers
    )
    assert again.status_code == 422
    assert again.json()["error"]["details"]["field"] == "network_allow"
    assert stored_network(database, "lab") == ("outbound", ["10.0.0.1"])
    assert actions(database, "lab") == ["group.create"]


def test_the_allow_list_is_bounded_after_duplicates_are_dropped(
    client: TestClient, headers: dict[str, str], database: Database
) -> None:
    many = [f"10.0.{i}.0/24" for i in range(64)]
    accepted = client.post(
        BASE, json={"name": "lab", "network_allow": many + many}, headers=headers
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["network_allow"] == many
    refused = client.patch(
        f"{BASE}/lab", json={"network_allow": [*many, "10.1.0.0/16"]}, headers=headers
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == {"field": "network_allow"}
    assert "At most 64" in refused.json()["error"]["message"]
    assert stored_network(database, "lab")[1] == many


@pytest.mark.parametrize(
    "body",
    [
        {"network_mode": "bridge"},
        {"network_mode": None, "network_allow": "10.0.0.0/8"},
        {"network_allow": ["1" * 300]},
        {"network_allow": ["10.0.0.1"] * 1001},
    ],
)
def test_malformed_network_fields_are_refused_with_their_field(
    client: TestClient, headers: dict[str, str], database: Database, body: dict[str, object]
) -> None:
    refused = client.patch(f"{BASE}/default", json=body, headers=headers)
    assert refused.status_code == 422
    assert any("network_" in str(item["loc"]) for item in refused.json()["error"]["details"])
    assert stored_network(database, "default") == ("outbound", [])


def test_a_normal_user_cannot_change_the_network(
    client: TestClient, factory: Factory, database: Database
) -> None:
    user = bearer(client, factory.user())
    body = {"network_mode": "outbound", "network_allow": ["10.0.0.0/8"]}
    assert client.patch(f"{BASE}/default", json=body, headers=user).status_code == 403
    created = client.post(BASE, json={"name": "open", **body}, headers=user)
    assert created.status_code == 403
    assert stored_network(database, "default") == ("outbound", [])
