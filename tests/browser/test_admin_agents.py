"""Agents, resource groups and environments administration in a real browser: drain an agent
from the table, create a group and allow a project, disable an environment."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from shipyard.agents import service as agents
from shipyard.agents.models import Agent
from shipyard.environments import service as environments
from tests.browser.conftest import log_in
from tests.factories import Factory


def test_drain_an_agent_create_a_group_and_disable_an_environment(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    admin = factory.admin()
    agent = factory.agent(cpu="4", mem="8g")
    project = factory.project()
    log_in(page, live_server, admin.email, admin.password)

    page.goto(f"{live_server}/admin/agents")
    expect(page.get_by_role("heading", level=1)).to_have_text("Agents")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=agent.id))
    expect(row).to_contain_text("Alive")
    expect(row).to_contain_text("CPU 0 / 4")
    row.get_by_role("button", name=f"Actions for {agent.id}").click()
    row.get_by_role("menuitem", name="Drain").click()
    dialog = page.get_by_role("dialog", name=f"Drain {agent.id}")
    expect(dialog).to_contain_text("Its running sessions go on")
    dialog.get_by_role("button", name="Drain").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("status").filter(has_text="is draining")).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=agent.id))
    expect(row).to_contain_text("Draining")
    with factory.database.session() as db:
        assert db.get_one(Agent, agent.id).schedulable is False

    page.goto(f"{live_server}/admin/resource-groups")
    page.get_by_role("button", name="New resource group").click()
    dialog = page.get_by_role("dialog", name="New resource group")
    expect(dialog.get_by_label("Name")).to_be_focused()
    dialog.get_by_label("Name").fill("bad name")
    dialog.get_by_role("button", name="Create group").click()
    expect(dialog.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("Name").fill("gpu")
    dialog.get_by_label("Description").fill("A100 nodes")
    dialog.get_by_label("Spread (the least busy agent first)").check()
    dialog.get_by_role("button", name="Create group").click()
    expect(dialog).to_be_hidden()
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="gpu"))
    expect(row).to_contain_text("A100 nodes")
    row.get_by_role("button", name="Actions for gpu").click()
    row.get_by_role("menuitem", name="Allowed projects").click()
    dialog = page.get_by_role("dialog", name="Projects that may use gpu")
    dialog.get_by_label(project.name).check()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="gpu"))
    expect(row).to_contain_text(project.name)
    with factory.database.session() as db:
        assert "gpu" in [g.name for g in agents.groups_of_project(db, project.id)]

    page.goto(f"{live_server}/admin/environments")
    page.get_by_role("button", name="Disable python").click()
    dialog = page.get_by_role("dialog", name="Disable python")
    dialog.get_by_role("button", name="Disable").click()
    expect(dialog).to_be_hidden()
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="python"))
    expect(row).to_contain_text("Disabled")
    expect(row.get_by_role("button", name="Enable python")).to_be_visible()
    with factory.database.session() as db:
        assert environments.by_name(db, "python").enabled is False
    assert csp_violations == []


def test_set_a_groups_network_and_allowed_site_services(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    admin = factory.admin()
    log_in(page, live_server, admin.email, admin.password)
    page.goto(f"{live_server}/admin/resource-groups")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="default"))
    expect(row).to_contain_text("Outbound")
    row.get_by_role("button", name="Actions for default").click()
    row.get_by_role("menuitem", name="Edit").click()
    dialog = page.get_by_role("dialog", name="Edit default")
    network = dialog.get_by_label("Network")
    expect(network).to_have_value("outbound")
    expect(network).to_have_accessible_description(re.compile("never this host"))
    network.select_option(label="None (loopback only)")
    allowed = dialog.get_by_label("Allowed site services")
    allowed.fill("10.1.2.0/24\n10.1.2.0/33\n127.0.0.1:80")
    dialog.get_by_role("button", name="Save").click()
    expect(allowed).to_have_attribute("aria-invalid", "true")
    expect(allowed).to_have_accessible_description(re.compile("'10.1.2.0/33', '127.0.0.1:80'"))
    expect(network).to_have_value("none")
    with factory.database.session() as db:
        assert agents.default_group(db).network_allow == []
    allowed.fill("10.1.2.3/24\n\n10.9.0.5:443\n")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="default"))
    expect(row).to_contain_text("Loopback only")
    with factory.database.session() as db:
        group = agents.default_group(db)
        assert (group.network_mode.value, group.network_allow) == (
            "none",
            ["10.1.2.0/24", "10.9.0.5:443"],
        )
    assert csp_violations == []
