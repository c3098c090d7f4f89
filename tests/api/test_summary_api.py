"""GET /api/v1/summary/resources and /summary/system: exact figures, scoped to the caller."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shipyard.config import Settings
from shipyard.db import Database
from tests.api.test_sessions_api import bearer
from tests.factories import Factory
from tests.summary_helpers import new_group, project_policy, run_round, start


@pytest.mark.db
def test_resource_statistics_give_exact_amounts_and_inf(
    client: TestClient, factory: Factory, database: Database, settings: Settings
) -> None:
    factory.agent(cpu="8", mem="16g")
    account = factory.user()
    factory.user_policy(account.user, slots={"cpu": "4"}, max_sessions=3)
    start(database, settings, account.user, cpu="1.5", mem="1g")
    run_round(database)
    body = client.get("/api/v1/summary/resources", headers=bearer(client, account)).json()
    assert body["project"] == "default"
    assert body["resource_group"] == "default"
    assert body["resource_groups"] == ["default"]
    cpu, mem = body["slots"]
    assert cpu == {
        "slot": "cpu",
        "user": {"used": "1.5", "total": "4"},
        "resource_group": {"used": "1.5", "total": "8"},
        "project": {"used": "1.5", "total": "inf"},
        "remaining": "2.5",
        "remaining_set_by": "user",
    }
    assert mem["slot"] == "mem"
    assert mem["user"] == {"used": str(2**30), "total": "inf"}
    assert mem["remaining"] == str(15 * 2**30)  # no limit: the agent's free memory
    assert mem["remaining_set_by"] == "group"
    assert body["sessions"] == {"used": "1", "total": "3"}


@pytest.mark.smoke
def test_project_and_group_are_chosen_by_name(
    client: TestClient, factory: Factory, database: Database, settings: Settings
) -> None:
    account = factory.user()
    project = factory.project(members=(account.user,))
    project_policy(database, project, {"cpu": "2"})
    group = new_group(database, projects=(project,))
    factory.agent(group=group, cpu="16", mem="8g", gpus=2)
    start(database, settings, account.user, cpu="1", gpus=1, project=project, group=group)
    run_round(database)
    headers = bearer(client, account)
    response = client.get(
        "/api/v1/summary/resources",
        params={"project": project.name, "group": group},
        headers=headers,
    )
    body = response.json()
    assert body["project"] == project.name
    assert body["resource_group"] == group
    figures = {row["slot"]: row for row in body["slots"]}
    assert figures["cpu"]["project"] == {"used": "1", "total": "2"}
    assert figures["cpu"]["resource_group"] == {"used": "1", "total": "16"}
    assert figures["cuda.device"]["resource_group"] == {"used": "1", "total": "2"}
    by_id = client.get(
        "/api/v1/summary/resources", params={"project": str(project.id)}, headers=headers
    )
    assert by_id.json()["resource_group"] == "default"  # the first it may use, by name
    assert by_id.json()["resource_groups"] == ["default", group]


def test_foreign_projects_and_groups_are_not_found(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    foreign = factory.project()
    hidden = new_group(database, projects=(foreign,))
    headers = bearer(client, account)
    for params in ({"project": foreign.name}, {"project": "nope"}, {"group": hidden}):
        response = client.get("/api/v1/summary/resources", params=params, headers=headers)
        assert response.status_code == 404, params
        assert response.json()["error"]["code"]
    too_long = client.get("/api/v1/summary/resources", params={"group": "g" * 65}, headers=headers)
    assert too_long.status_code == 422


def test_a_normal_user_gets_only_their_own_session_count(
    client: TestClient, factory: Factory, database: Database, settings: Settings
) -> None:
    factory.agent(cpu="8", mem="16g")
    account, other = factory.user(), factory.user()
    start(database, settings, account.user)
    start(database, settings, other.user)
    start(database, settings, other.user)
    run_round(database)
    body = client.get("/api/v1/summary/system", headers=bearer(client, account)).json()
    assert body == {"sessions": 1, "agents": None, "slots": None}


@pytest.mark.db
def test_the_admin_gets_agents_and_reserved_against_capacity(
    client: TestClient, factory: Factory, database: Database, settings: Settings
) -> None:
    factory.agent(cpu="8", mem="16g")
    account = factory.user()
    start(database, settings, account.user, cpu="2", mem="1g")
    run_round(database)
    start(database, settings, account.user)  # pending
    body = client.get("/api/v1/summary/system", headers=bearer(client, factory.admin())).json()
    assert body["agents"] == 1
    assert body["sessions"] == 2
    assert body["slots"][0] == {"slot": "cpu", "capacity": "8", "reserved": "2", "used": "0"}
    assert body["slots"][1]["reserved"] == str(2**30)


def test_the_figures_need_a_token(client: TestClient) -> None:
    for path in ("/api/v1/summary/resources", "/api/v1/summary/system"):
        assert client.get(path).status_code == 401
