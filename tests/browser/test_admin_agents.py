"""Agents, resource groups and environments administration in a real browser: drain an agent
from the table, create a group and allow a project, disable an environment."""

from __future__ import annotations

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
