"""The console's agents, agent tokens and resource groups pages (admins only)."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.agents import service as agents
from shipyard.agents.models import Agent, AgentStatus, AgentToken, ResourceGroup
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.scheduler.service import schedule_once
from tests.api.test_admin_agents_api import unsandboxed
from tests.factories import Account, Factory
from tests.querycount import QueryCounter
from tests.webclient import session_csrf

# A fixed id no row has: parametrised test ids must be the same in every xdist worker.
MISSING_ID = uuid.UUID(int=0xDEAD)

HTMX = {"HX-Request": "true"}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)
PAGES = ["/admin/agents", "/admin/resource-groups"]
DIALOGS = [
    "/admin/agents/agent-x/schedulable",
    "/admin/agents/agent-x/move",
    "/admin/agent-tokens/new",
    f"/admin/agent-tokens/{MISSING_ID}/revoke",
    "/admin/resource-groups/new",
    "/admin/resource-groups/default/edit",
    "/admin/resource-groups/default/projects",
]


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> Account:
    account = factory.admin()
    factory.web_login(client, account)
    return account


def post(
    client: TestClient, path: str, data: dict[str, str | list[str]], *, htmx: bool = True
) -> httpx.Response:
    token = session_csrf(client)
    response: httpx.Response = client.post(
        path,
        data={**data, "csrf_token": token},
        headers=HTMX if htmx else {},
        follow_redirects=False,
    )
    return response


def events(response: httpx.Response) -> dict[str, object]:
    fired: dict[str, object] = json.loads(response.headers["hx-trigger"])
    return fired


def agent_of(database: Database, agent_id: str) -> Agent:
    with database.session() as db:
        return db.get_one(Agent, agent_id)


@pytest.mark.parametrize("path", PAGES + DIALOGS)
def test_normal_users_get_the_403_page(client: TestClient, factory: Factory, path: str) -> None:
    account = factory.user()
    factory.web_login(client, account)
    page = client.get(path)
    assert page.status_code == 403
    assert "Only administrators may see this page." in page.text
    token = session_csrf(client)
    refused = client.post(path, data={"csrf_token": token}, follow_redirects=False)
    assert refused.status_code in (403, 405)


def test_the_agents_page_shows_status_occupancy_and_enforcement(
    client: TestClient, factory: Factory, database: Database, admin: Account
) -> None:
    busy = factory.agent(cpu="4", mem="8g")
    owner = factory.user().user
    factory.session(owner, cpu="1", mem="2g")
    with database.session() as db:
        schedule_once(db)
        found = db.get_one(Agent, busy.id)
        found.utilization = {"cpu_percent": 37.4, "mem_used": 2**30, "mem_total": 2**33}
        db.commit()
    bare = unsandboxed(database)
    html = client.get("/admin/agents").text
    assert f'data-agent="{busy.id}"' in html
    assert "CPU 1 / 4" in html
    assert "Memory 2 GiB / 8 GiB" in html
    assert 'value="25" aria-label="CPU of ' + busy.id + ' in use"' in html
    assert "CPU 37 %" in html
    assert "Memory 1 GiB / 8 GiB" in html
    assert "sandbox: bubblewrap" in html
    assert "cgroups: v1" in html
    assert ">Alive<" in html
    assert ">Draining<" in html  # the agent without a sandbox gets no sessions
    assert "sandbox: none" in html
    assert f"Agent {bare.id} has no sandbox and gets no sessions" in html
    assert "s ago</time>" in html
    assert "UTC" in html
    for pattern in (INLINE_SCRIPT, STYLE_ATTRIBUTE):
        assert not pattern.search(html)


@pytest.mark.db
def test_filters(client: TestClient, factory: Factory, database: Database, admin: Account) -> None:
    with database.session() as db:
        db.add(ResourceGroup(name="gpu"))
        db.commit()
    gpu = factory.agent(group="gpu")
    lost = factory.agent()
    with database.session() as db:
        db.get_one(Agent, lost.id).status = AgentStatus.LOST
        db.commit()
    html = client.get("/admin/agents?group=gpu").text
    assert f'data-agent="{gpu.id}"' in html
    assert f'data-agent="{lost.id}"' not in html
    html = client.get("/admin/agents?status=LOST").text
    assert f'data-agent="{lost.id}"' in html
    assert f'data-agent="{gpu.id}"' not in html
    assert ">Lost<" in html
    empty = client.get("/admin/agents?group=none-such").text
    assert "No agents here" in empty
    assert client.get("/admin/agents?status=bogus").status_code == 200


def add_agents(database: Database, count: int) -> None:
    with database.session() as db:
        group = agents.default_group(db)
        db.add_all(
            Agent(
                id=f"bulk-{uuid.uuid4().hex[:12]}",
                resource_group_id=group.id,
                capacity={"cpu": "8", "mem": str(2**34)},
                enforcement={"sandbox": "bubblewrap", "cgroups": "v2", "rlimits": False},
            )
            for _ in range(count)
        )
        db.commit()


def test_the_agents_page_costs_the_same_statements_with_10_or_200_agents(
    client: TestClient, database: Database, admin: Account, queries: QueryCounter
) -> None:
    add_agents(database, 10)
    client.get("/admin/agents")
    queries.reset()
    client.get("/admin/agents")
    few = queries.count
    add_agents(database, 190)
    queries.reset()
    page = client.get("/admin/agents")
    assert queries.count == few
    assert "1 to 50 of 200" in page.text
    second = client.get("/admin/agents?offset=50").text
    assert "51 to 100 of 200" in second
    assert 'href="/admin/agents?offset=100"' in second


@pytest.mark.smoke
def test_drain_and_undrain_from_the_console(
    client: TestClient, factory: Factory, database: Database, admin: Account
) -> None:
    agent = factory.agent()
    dialog = client.get(f"/admin/agents/{agent.id}/schedulable?value=false", headers=HTMX)
    assert f'id="dialog-title">Drain {agent.id}<' in dialog.text
    assert "Its running sessions go on" in dialog.text
    drained = post(client, f"/admin/agents/{agent.id}/schedulable", {"schedulable": "false"})
    assert drained.status_code == 200
    fired = events(drained)
    assert "shipyard:admin-changed" in fired
    assert fired["shipyard:dialog-done"] == {
        "message": f"Agent {agent.id} is draining: it gets no new sessions."
    }
    assert agent_of(database, agent.id).schedulable is False
    page = client.get("/admin/agents").text
    assert ">Draining<" in page
    assert f'href="/admin/agents/{agent.id}/schedulable?value=true"' in page
    plain = post(
        client, f"/admin/agents/{agent.id}/schedulable", {"schedulable": "true"}, htmx=False
    )
    assert (plain.status_code, plain.headers["location"]) == (303, "/admin/agents")
    assert agent_of(database, agent.id).schedulable is True


def test_undraining_an_agent_without_sandbox_is_refused_off_loopback(
    client: TestClient, database: Database, settings: Settings, admin: Account
) -> None:
    bare = unsandboxed(database)
    settings.host = "0.0.0.0"  # noqa: S104 - the manager listens beyond loopback
    refused = post(client, f"/admin/agents/{bare.id}/schedulable", {"schedulable": "true"})
    assert refused.status_code == 200
    assert "has no sandbox" in refused.text
    assert 'role="alert"' in refused.text
    assert agent_of(database, bare.id).schedulable is False
    plain = post(
        client, f"/admin/agents/{bare.id}/schedulable", {"schedulable": "true"}, htmx=False
    )
    assert plain.status_code == 409


def test_move_an_agent(
    client: TestClient, factory: Factory, database: Database, admin: Account
) -> None:
    post(client, "/admin/resource-groups/new", {"name": "batch", "is_active": "true"})
    busy = factory.agent()
    factory.session(factory.user().user)
    with database.session() as db:
        schedule_once(db)
    dialog = client.get(f"/admin/agents/{busy.id}/move", headers=HTMX).text
    assert '<option value="batch"' in dialog
    refused = post(client, f"/admin/agents/{busy.id}/move", {"resource_group": "batch"})
    assert "still has sessions" in refused.text
    assert 'aria-invalid="true"' in refused.text
    idle = factory.agent()
    moved = post(client, f"/admin/agents/{idle.id}/move", {"resource_group": "batch"})
    assert events(moved)["shipyard:dialog-done"] == {"message": f"Agent {idle.id} moved to batch."}
    with database.session() as db:
        group = db.get_one(ResourceGroup, agent_of(database, idle.id).resource_group_id)
        assert group.name == "batch"
    unknown = post(client, f"/admin/agents/{idle.id}/move", {"resource_group": "nope"})
    assert "No such resource group: nope." in unknown.text
    assert client.get("/admin/agents/no-such/move").status_code == 404


def test_agent_tokens_are_issued_once_and_revoked(
    client: TestClient, database: Database, admin: Account
) -> None:
    issued = post(client, "/admin/agent-tokens/new", {"resource_group": "default"})
    assert issued.status_code == 200
    assert "shown only once" in issued.text
    assert issued.headers["cache-control"] == "no-store"
    assert "shipyard:admin-changed" in events(issued)
    raw = re.search(r'id="issued-token" [^>]*value="(sya_[^"]+)"', issued.text)
    assert raw is not None
    with database.session() as db:
        token = db.scalars(select(AgentToken)).one()
        assert agents.group_of_token(db, raw.group(1)).name == "default"
    page = client.get("/admin/agents").text
    assert f"<code>{token.prefix}…</code>" in page
    assert raw.group(1) not in page
    assert admin.email in page
    dialog = client.get(f"/admin/agent-tokens/{token.id}/revoke", headers=HTMX).text
    assert "can no longer register" in dialog
    revoked = post(client, f"/admin/agent-tokens/{token.id}/revoke", {})
    assert events(revoked)["shipyard:dialog-done"] == {
        "message": f"Agent token {token.prefix}… revoked."
    }
    assert ">Revoked<" in client.get("/admin/agents").text
    nope = post(client, "/admin/agent-tokens/new", {"resource_group": "nope"})
    assert "No such resource group: nope." in nope.text


# Resource groups ---------------------------------------------------------------------------


def test_the_groups_page_shows_agents_capacity_and_projects(
    client: TestClient, factory: Factory, database: Database, admin: Account
) -> None:
    factory.agent(cpu="4", mem="8g")
    factory.agent(cpu="2", mem="4g")
    factory.session(factory.user().user, cpu="1", mem="1g")
    with database.session() as db:
        schedule_once(db)
    html = client.get("/admin/resource-groups").text
    assert 'data-group="default"' in html
    assert "2 alive of 2" in html
    assert "CPU 1 / 6" in html
    assert "Memory 1 GiB / 12 GiB" in html
    assert "default" in html
    assert 'aria-label="Actions for default"' in html


def test_create_edit_and_allow_projects(
    client: TestClient, factory: Factory, database: Database, admin: Account
) -> None:
    dialog = client.get("/admin/resource-groups/new", headers=HTMX).text
    assert 'id="dialog-title">New resource group<' in dialog
    bad = post(client, "/admin/resource-groups/new", {"name": "a b", "is_active": "true"})
    assert "starts with a letter or digit" in bad.text
    assert 'value="a b"' in bad.text
    created = post(
        client,
        "/admin/resource-groups/new",
        {"name": "gpu", "description": "GPUs", "placement": "spread", "is_active": "true"},
    )
    assert events(created)["shipyard:dialog-done"] == {"message": "Resource group gpu created."}
    twice = post(client, "/admin/resource-groups/new", {"name": "gpu", "is_active": "true"})
    assert "already exists" in twice.text
    edit = client.get("/admin/resource-groups/gpu/edit", headers=HTMX).text
    assert 'value="spread" checked' in edit
    saved = post(
        client, "/admin/resource-groups/gpu/edit", {"description": "A100", "placement": "binpack"}
    )
    assert events(saved)["shipyard:dialog-done"] == {"message": "Resource group gpu saved."}
    with database.session() as db:
        group = db.scalars(select(ResourceGroup).where(ResourceGroup.name == "gpu")).one()
        assert (group.description, group.placement.value, group.is_active) == (
            "A100",
            "binpack",
            False,
        )
    project = factory.project()
    projects = client.get("/admin/resource-groups/gpu/projects", headers=HTMX).text
    assert f'value="{project.name}"' in projects
    allowed = post(client, "/admin/resource-groups/gpu/projects", {"projects": [project.name]})
    assert events(allowed)["shipyard:dialog-done"] == {"message": "Projects of gpu saved."}
    with database.session() as db:
        assert [g.name for g in agents.groups_of_project(db, project.id)] == ["default"]
    post(client, "/admin/resource-groups/gpu/edit", {"description": "", "is_active": "true"})
    with database.session() as db:
        assert [g.name for g in agents.groups_of_project(db, project.id)] == ["default", "gpu"]
    unknown = post(client, "/admin/resource-groups/gpu/projects", {"projects": ["nope"]})
    assert "No such project: nope." in unknown.text
    assert project.name in client.get("/admin/resource-groups").text


def test_the_default_group_cannot_be_deactivated(
    client: TestClient, database: Database, admin: Account
) -> None:
    edit = client.get("/admin/resource-groups/default/edit", headers=HTMX).text
    assert "The default group is always active." in edit
    assert 'type="hidden" name="is_active" value="true"' in edit
    refused = post(client, "/admin/resource-groups/default/edit", {"description": "x"})
    assert "The default resource group cannot be deactivated." in refused.text
    with database.session() as db:
        assert agents.default_group(db).is_active
    assert client.get("/admin/resource-groups/nope/edit").status_code == 404


def network_of(database: Database, name: str) -> tuple[str, list[str]]:
    with database.session() as db:
        group = db.scalars(select(ResourceGroup).where(ResourceGroup.name == name)).one()
        return group.network_mode.value, list(group.network_allow)


def test_network_mode_and_allowed_services_round_trip(
    client: TestClient, database: Database, admin: Account
) -> None:
    new = client.get("/admin/resource-groups/new", headers=HTMX).text
    assert '<label class="form-label" for="group-network">Network</label>' in new
    assert '<option value="outbound" selected>Outbound (internet, no host or private ranges)' in new
    assert '<option value="none">None (loopback only)' in new
    assert '<label class="form-label" for="group-allow">Allowed site services</label>' in new
    assert 'aria-describedby="group-allow-hint"' in new
    created = post(
        client,
        "/admin/resource-groups/new",
        {
            "name": "lab",
            "is_active": "true",
            "network_mode": "none",
            "network_allow": "10.1.2.3/24\r\n\r\n  10.9.0.5:443 \n10.1.2.0/24\n",
        },
    )
    assert events(created)["shipyard:dialog-done"] == {"message": "Resource group lab created."}
    assert network_of(database, "lab") == ("none", ["10.1.2.0/24", "10.9.0.5:443"])
    edit = client.get("/admin/resource-groups/lab/edit", headers=HTMX).text
    assert '<option value="none" selected>' in edit
    assert ">10.1.2.0/24\n10.9.0.5:443</textarea>" in edit
    listed = client.get("/admin/resource-groups").text
    assert 'data-network="none"' in listed
    assert "Loopback only" in listed
    post(
        client,
        "/admin/resource-groups/lab/edit",
        {"is_active": "true", "network_mode": "outbound", "network_allow": "192.168.5.0/24"},
    )
    assert network_of(database, "lab") == ("outbound", ["192.168.5.0/24"])
    listed = client.get("/admin/resource-groups").text
    assert 'data-network="outbound"' in listed
    assert "1 site service allowed" in listed
    post(client, "/admin/resource-groups/lab/edit", {"is_active": "true", "network_allow": ""})
    assert network_of(database, "lab") == ("outbound", [])


def test_bad_allowed_services_are_shown_by_the_field_and_nothing_is_saved(
    client: TestClient, database: Database, admin: Account
) -> None:
    typed = "10.1.2.0/24\n10.1.2.0/33\n169.254.169.254\n<b>x</b>"
    refused = post(
        client,
        "/admin/resource-groups/new",
        {"name": "lab", "is_active": "true", "network_mode": "none", "network_allow": typed},
    )
    assert refused.status_code == 200
    html = refused.text
    assert (
        "Not valid here: &#39;10.1.2.0/33&#39;, &#39;169.254.169.254&#39;, &#39;&lt;b&gt;" in html
    )
    assert 'id="group-allow-error"' in html
    assert 'aria-describedby="group-allow-hint group-allow-error" aria-invalid="true"' in html
    assert ">10.1.2.0/24\n10.1.2.0/33\n169.254.169.254\n&lt;b&gt;x&lt;/b&gt;</textarea>" in html
    assert '<option value="none" selected>' in html
    assert "<b>x</b>" not in html
    with database.session() as db:
        assert db.scalars(select(ResourceGroup).where(ResourceGroup.name == "lab")).first() is None
    plain = post(
        client,
        "/admin/resource-groups/default/edit",
        {"is_active": "true", "network_mode": "none", "network_allow": "10.0.0.0/8\nnope"},
        htmx=False,
    )
    assert plain.status_code == 422
    assert "&#39;nope&#39;" in plain.text
    assert network_of(database, "default") == ("outbound", [])
    too_many = "\n".join(f"10.0.{i}.0/24" for i in range(65))
    bounded = post(
        client,
        "/admin/resource-groups/default/edit",
        {"is_active": "true", "network_allow": too_many},
    )
    assert "At most 64 allowed site services." in bounded.text
    mode = post(
        client, "/admin/resource-groups/default/edit", {"is_active": "true", "network_mode": "open"}
    )
    assert "Choose outbound or none." in mode.text
    assert 'aria-describedby="group-network-hint group-network-error"' in mode.text
    assert network_of(database, "default") == ("outbound", [])
