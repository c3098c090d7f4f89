"""Resource Statistics and System Resources panels in the console, as users and admins see them."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from shipyard.agents import service as agents
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.projects import service as projects
from shipyard.projects.models import ProjectMember
from tests.factories import Account, Factory
from tests.querycount import QueryCounter
from tests.summary_helpers import new_group, project_policy, run_round, start, text_of
from tests.webclient import session_csrf

# Every figure is a sum over the ledger, in the dialect's numbers.
pytestmark = pytest.mark.db


def panel(client: TestClient, path: str = "/summary/resources") -> str:
    response = client.get(path, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.text
    return response.text


def test_the_user_sees_own_group_and_project_figures(
    client: TestClient, factory: Factory, database: Database, settings: Settings
) -> None:
    factory.agent(cpu="8", mem="16g")
    account = factory.user()
    factory.user_policy(account.user, slots={"cpu": "4", "mem": "8g"}, max_sessions=3)
    other = factory.user()
    start(database, settings, account.user, cpu="1", mem="1g")
    start(database, settings, other.user, cpu="2", mem="2g")
    run_round(database)
    factory.web_login(client, account)
    html = panel(client)
    assert html.lstrip().startswith('<section id="summary-resources"')
    assert text_of(html, "resources-cpu-user-text") == "1 / 4 cores"
    assert text_of(html, "resources-cpu-group-text") == "3 / 8 cores"
    assert text_of(html, "resources-cpu-project-text") == "3 / ∞ cores"
    assert text_of(html, "resources-mem-user-text") == "1 GiB / 8 GiB"
    assert text_of(html, "resources-mem-group-text") == "3 GiB / 16 GiB"
    assert text_of(html, "resources-sessions-text") == "1 / 3"
    assert text_of(html, "resources-cpu-remaining") == "Remaining: 3 cores"
    assert "resources-cuda.device" not in html  # no agent has a GPU and no limit names one
    assert 'aria-label="CPU used by you"' in html
    assert 'aria-valuenow="25"' in html


def test_an_unlimited_limit_shows_infinity_and_never_a_full_bar(
    client: TestClient, factory: Factory, database: Database, settings: Settings
) -> None:
    factory.agent(cpu="2", mem="4g")
    account = factory.user()
    factory.user_policy(account.user, max_sessions=None)
    start(database, settings, account.user, cpu="2", mem="4g")
    run_round(database)
    factory.web_login(client, account)
    html = panel(client)
    assert text_of(html, "resources-cpu-user-text") == "2 / ∞ cores"
    assert text_of(html, "resources-cpu-user-unlimited") == "(unlimited)"
    assert text_of(html, "resources-sessions-text") == "1 / ∞"
    # the limits leave everything, but the group's only agent is full: nothing remains
    assert text_of(html, "resources-cpu-remaining") == "Remaining: 0 cores"
    assert text_of(html, "resources-cpu-bound") == "(the most free on one agent of this group)"
    unlimited = re.findall(r'<progress class="usage-bar is-unlimited"[^>]*>', html)
    assert len(unlimited) == 5  # cpu and memory of user and project, and the sessions
    assert all('value="0"' in bar for bar in unlimited)
    # the group itself is full: that bar is full and says so
    assert text_of(html, "resources-cpu-group-text") == "2 / 2 cores"
    assert re.search(r'class="usage-bar is-full"[^>]*value="100"', html)


def test_remaining_counts_the_group_s_free_capacity(
    client: TestClient, factory: Factory, database: Database, settings: Settings
) -> None:
    with database.session() as db:
        default = projects.default_project(db)
    empty = new_group(database, projects=(default,))
    factory.agent(cpu="8", mem="16g", gpus=2)
    factory.agent(cpu="4", mem="32g")
    account = factory.user()
    factory.user_policy(account.user, slots={"cpu": "1.5"}, max_sessions=5)
    start(database, settings, account.user, cpu="1", mem="1g", gpus=1)
    run_round(database)
    factory.web_login(client, account)
    html = panel(client)
    assert text_of(html, "resources-cpu-remaining") == "Remaining: 0.5 cores"
    assert text_of(html, "resources-cpu-bound") == "(set by your limit)"
    # one GPU of two is held and no limit names GPUs: one more session could get one
    assert text_of(html, "resources-cuda.device-remaining") == "Remaining: 1 GPU"
    assert text_of(html, "resources-cuda.device-group-text") == "1 / 2 GPUs"
    # a session runs on one agent: the largest free memory on one, not the sum of both
    assert text_of(html, "resources-mem-remaining") == "Remaining: 32 GiB"
    html = panel(client, f"/summary/resources?group={empty}")
    assert text_of(html, "resources-cpu-remaining") == "Remaining: 0 cores"  # no agents
    assert text_of(html, "resources-cpu-bound") == "(the most free on one agent of this group)"


def test_near_the_limit_the_bar_warns(
    client: TestClient, factory: Factory, database: Database, settings: Settings
) -> None:
    factory.agent(cpu="8", mem="16g")
    account = factory.user()
    factory.user_policy(account.user, slots={"cpu": "5"}, max_sessions=10)
    start(database, settings, account.user, cpu="4.5", mem="1g")
    run_round(database)
    factory.web_login(client, account)
    html = panel(client)
    assert re.search(
        r'class="usage-bar is-warn"[^>]*value="90"[^>]*aria-label="CPU used by you"', html, re.S
    )


def test_switching_the_group_changes_the_figures_and_is_remembered(
    client: TestClient, factory: Factory, database: Database, settings: Settings
) -> None:
    account = factory.user()
    with database.session() as db:
        default = projects.default_project(db)
    gpu_group = new_group(database, projects=(default,))
    new_group(database, projects=())  # a group this project may not use
    factory.agent(cpu="8", mem="16g")
    factory.agent(group=gpu_group, cpu="32", mem="64g", gpus=4)
    start(database, settings, account.user, cpu="2", mem="1g", gpus=1, group=gpu_group)
    run_round(database)
    factory.web_login(client, account)
    html = panel(client)
    options = re.findall(r'<option value="([^"]+)"', html)
    assert options == sorted(["default", gpu_group])
    assert text_of(html, "resources-cpu-group-text") == "0 / 8 cores"
    html = panel(client, f"/summary/resources?group={gpu_group}")
    assert f'<option value="{gpu_group}" selected>' in html
    assert text_of(html, "resources-cpu-group-text") == "2 / 32 cores"
    assert text_of(html, "resources-cuda.device-group-text") == "1 / 4 GPUs"
    assert text_of(html, "resources-cpu-user-text") == "2 / ∞ cores"  # the user's own: any group
    again = panel(client)  # no choice given: the browser's remembered one
    assert f'<option value="{gpu_group}" selected>' in again


def test_a_group_the_project_may_not_use_falls_back_to_the_first(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    hidden = new_group(database, projects=())
    factory.agent(group=hidden, cpu="64", mem="64g")
    factory.agent(cpu="8", mem="16g")
    factory.web_login(client, account)
    response = client.get(f"/summary/resources?group={hidden}")
    assert response.status_code == 200
    assert hidden not in response.text
    assert text_of(response.text, "resources-cpu-group-text") == "0 / 8 cores"
    assert "shipyard_summary_group" not in response.headers.get("set-cookie", "")
    assert client.get("/summary/resources?group=" + "x" * 65).status_code == 422


def test_switching_the_project_changes_the_figures(
    client: TestClient, factory: Factory, database: Database, settings: Settings
) -> None:
    factory.agent(cpu="8", mem="16g")
    account = factory.user()
    project = factory.project(members=(account.user,))
    project_policy(database, project, {"cpu": "2", "mem": "2g"})
    new_group(database, projects=(project,))
    start(database, settings, account.user, cpu="1", mem="1g")  # in the default project
    run_round(database)
    factory.web_login(client, account)
    assert text_of(panel(client), "resources-cpu-project-text") == "1 / ∞ cores"
    token = session_csrf(client)
    switched = client.post(
        "/current-project", data={"project_id": str(project.id), "csrf_token": token}
    )
    assert switched.status_code in (200, 303)
    html = panel(client)
    assert text_of(html, "resources-cpu-project-text") == "0 / 2 cores"
    assert text_of(html, "resources-cpu-user-text") == "1 / ∞ cores"
    assert text_of(html, "resources-cpu-remaining") == "Remaining: 2 cores"


def test_a_user_in_no_project_gets_a_message(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    with database.session() as db:
        db.execute(delete(ProjectMember).where(ProjectMember.user_id == account.user.id))
        db.commit()
    factory.web_login(client, account)
    html = panel(client)
    assert "You are not a member of any active project" in html
    assert "resources-cpu" not in html
    assert 'id="summary-group"' not in html


def test_a_normal_user_sees_only_their_own_session_count(
    client: TestClient, factory: Factory, database: Database, settings: Settings
) -> None:
    factory.agent(cpu="8", mem="16g")
    account, other = factory.user(), factory.user()
    start(database, settings, account.user)
    for _ in range(2):
        start(database, settings, other.user)
    run_round(database)
    factory.web_login(client, account)
    html = panel(client, "/summary/system")
    assert html.lstrip().startswith('<section id="summary-system"')
    assert text_of(html, "system-sessions") == "1"
    assert "Your compute sessions" in html
    for admin_only in ("Connected agents", "system-agents", "reserved", "system-cpu", "progress"):
        assert admin_only not in html


def test_the_admin_sees_agents_sessions_reserved_and_used(
    client: TestClient, factory: Factory, database: Database, settings: Settings
) -> None:
    agent = factory.agent(cpu="8", mem="16g")
    factory.agent(cpu="24", mem="16g", gpus=2)
    with database.session() as db:
        agents.touch(
            db,
            agent=db.merge(agent),
            utilization={"cpu_percent": 50, "mem_used": 2**30, "gpus": []},
        )
        db.commit()
    account = factory.user()
    for _ in range(3):
        start(database, settings, account.user, cpu="4", mem="1g")
    run_round(database)
    start(database, settings, account.user)  # pending: no round has placed it yet
    admin = factory.admin()
    factory.web_login(client, admin)
    html = panel(client, "/summary/system")
    assert text_of(html, "system-agents") == "2"
    assert text_of(html, "system-sessions") == "4"
    assert text_of(html, "system-cpu-text") == "12 / 32 cores reserved, 12 % used"
    assert text_of(html, "system-mem-text") == "3 GiB / 32 GiB reserved, 3 % used"
    assert text_of(html, "system-cuda.device-text") == "0 / 2 GPUs reserved, 0 % used"


def test_panels_need_a_login(client: TestClient) -> None:
    for path in ("/summary/resources", "/summary/system"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code in (302, 303)
        assert response.headers["location"].startswith("/login")


def seed(factory: Factory, database: Database, settings: Settings, *, scale: int) -> Account:
    """`scale` agents, users with sessions (some finished) and groups; returns an admin."""
    with database.session() as db:
        default = projects.default_project(db)
    for _ in range(scale):
        group = new_group(database, projects=(default,))
        factory.agent(group=group, cpu="4", mem="8g", gpus=1)
        user = factory.user().user
        start(database, settings, user, cpu="1", mem="1g", group=group)
        start(database, settings, user, cpu="1", mem="1g", gpus=1, group=group)
    run_round(database)
    return factory.admin()


def test_statements_do_not_grow_with_the_data(
    client: TestClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    queries: QueryCounter,
) -> None:
    admin = seed(factory, database, settings, scale=1)
    user = factory.user()
    counts: dict[tuple[str, str], int] = {}
    for round_ in ("few", "many"):
        if round_ == "many":
            seed(factory, database, settings, scale=10)
        for account in (admin, user):
            client.cookies.clear()
            factory.web_login(client, account)
            for path in ("/summary/resources", "/summary/system"):
                queries.reset()
                panel(client, path)
                key = (account.email, path)
                if round_ == "few":
                    counts[key] = queries.count
                else:
                    assert queries.count == counts[key], (key, queries.statements)
    assert max(counts.values()) <= 12


def test_a_refresh_that_brings_nothing_new_swaps_nothing(
    client: TestClient, factory: Factory, database: Database, settings: Settings
) -> None:
    factory.agent(cpu="8", mem="16g")
    account = factory.user()
    factory.web_login(client, account)
    for path in ("/summary/resources", "/summary/system"):
        first = client.get(path, headers={"HX-Request": "true"})
        etag = first.headers["ETag"]
        same = client.get(path, headers={"HX-Request": "true", "If-None-Match": etag})
        assert same.status_code == 204
    start(database, settings, account.user)
    changed = client.get("/summary/system", headers={"HX-Request": "true", "If-None-Match": etag})
    assert changed.status_code == 200
    assert text_of(changed.text, "system-sessions") == "1"
