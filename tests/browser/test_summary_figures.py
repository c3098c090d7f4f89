"""Resource Statistics and System Resources in a real browser: the figures, the group
selector refreshing the panel in place, and what an admin sees that a user does not."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from shipyard.config import Settings
from shipyard.db import Database
from shipyard.projects import service as projects
from tests.browser.conftest import log_in
from tests.factories import Factory
from tests.summary_helpers import new_group, run_round, start


def test_the_group_selector_changes_the_figures_in_place(
    page: Page,
    live_server: str,
    factory: Factory,
    database: Database,
    settings: Settings,
    csp_violations: list[str],
) -> None:
    with database.session() as db:
        default = projects.default_project(db)
    gpus = new_group(database, projects=(default,))
    factory.agent(cpu="8", mem="16g")
    factory.agent(group=gpus, cpu="32", mem="64g", gpus=4)
    me = factory.user()
    factory.user_policy(me.user, slots={"cpu": "6"}, max_sessions=5)
    start(database, settings, me.user, cpu="2", mem="1g")
    start(database, settings, me.user, cpu="1", mem="1g", gpus=2, group=gpus)
    run_round(database)
    log_in(page, live_server, me.email, me.password)

    panel = page.get_by_role("region", name="Resource Statistics")
    expect(panel.get_by_test_id("resources-cpu-user-text")).to_have_text("3 / 6 cores")
    expect(panel.get_by_test_id("resources-cpu-group-text")).to_have_text("2 / 8 cores")
    expect(panel.get_by_role("progressbar", name="CPU used by you")).to_have_attribute(
        "aria-valuenow", "50"
    )
    expect(panel.get_by_test_id("resources-sessions-text")).to_have_text("2 / 5")
    expect(panel.get_by_test_id("resources-cuda.device")).to_have_count(0)
    page.evaluate("window.__sameDocument = true")

    panel.get_by_label("Resource group", exact=True).select_option(gpus)
    expect(panel.get_by_test_id("resources-cpu-group-text")).to_have_text("1 / 32 cores")
    expect(panel.get_by_test_id("resources-cuda.device-group-text")).to_have_text("2 / 4 GPUs")
    expect(panel.get_by_test_id("resources-cpu-user-text")).to_have_text("3 / 6 cores")
    expect(panel.get_by_test_id("resources-cpu-project-text")).to_have_text("3 / ∞ cores")
    expect(panel.get_by_role("progressbar", name="CPU used in project default")).to_have_attribute(
        "aria-valuenow", "0"
    )
    assert page.evaluate("window.__sameDocument") is True

    page.reload()  # the browser remembers the chosen group
    expect(panel.get_by_label("Resource group", exact=True)).to_have_value(gpus)
    expect(panel.get_by_test_id("resources-cpu-group-text")).to_have_text("1 / 32 cores")

    system = page.get_by_role("region", name="System Resources")
    expect(system.get_by_test_id("system-sessions")).to_have_text("2")
    expect(system.get_by_text("Connected agents")).to_have_count(0)
    assert csp_violations == []


def test_the_admin_sees_agents_and_reserved_capacity(
    page: Page,
    live_server: str,
    factory: Factory,
    database: Database,
    settings: Settings,
    csp_violations: list[str],
) -> None:
    factory.agent(cpu="8", mem="16g")
    factory.agent(cpu="24", mem="16g")
    user = factory.user()
    for _ in range(3):
        start(database, settings, user.user, cpu="4", mem="1g")
    run_round(database)
    admin = factory.admin()
    log_in(page, live_server, admin.email, admin.password)
    system = page.get_by_role("region", name="System Resources")
    expect(system.get_by_test_id("system-agents")).to_have_text("2")
    expect(system.get_by_test_id("system-sessions")).to_have_text("3")
    expect(system.get_by_test_id("system-cpu-text")).to_have_text(
        "12 / 32 cores reserved, 0 % used"
    )
    expect(system.get_by_role("progressbar", name="CPU reserved on agents")).to_have_attribute(
        "aria-valuenow", "37"
    )
    assert csp_violations == []
