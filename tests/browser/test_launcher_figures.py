"""The launcher's and the Summary's figures in a real browser (issue 14, defects 8-10): a
typed amount beyond its slider is named by its box with the limit and the amounts, START
keeps the resource group chosen on the Summary, and Remaining counts the group's free
capacity in the slot's own unit."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from shipyard.config import Settings
from shipyard.db import Database
from shipyard.projects import service as projects
from tests.browser.conftest import log_in
from tests.factories import Factory
from tests.summary_helpers import new_group, run_round, start

OVER = "CPU: this asks for 2 cores, but your limit of 1 core leaves 1 core (0 cores in use)."


def test_an_amount_beyond_the_slider_is_named_by_its_box_and_refused_there(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    factory.agent(cpu="8", mem="16g")
    account = factory.user()
    factory.user_policy(account.user, slots={"cpu": "1"})
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/sessions")
    page.get_by_role("button", name="Start", exact=True).click()
    launcher = page.get_by_role("region", name="Start a session")
    launcher.get_by_label("Command").fill("echo hello")
    cpu = launcher.get_by_role("spinbutton", name="CPU cores")
    expect(launcher.get_by_text("Up to 1 core: what your limit still allows.")).to_be_visible()

    cpu.fill("2")  # the slider cannot show 2: its box says why instead of passing it over
    expect(launcher.get_by_role("slider", name="CPU cores")).to_have_value("1")
    expect(launcher.get_by_test_id("launch-cpu-fit")).to_have_text(OVER)
    expect(cpu).to_have_accessible_description(
        "Up to 1 core: what your limit still allows. " + OVER
    )
    expect(launcher.get_by_text("Fits now")).to_have_count(0)
    expect(cpu).to_have_value("2")

    launcher.get_by_role("button", name="Start session").click()
    expect(cpu).to_have_attribute("aria-invalid", "true")
    expect(launcher.locator("#launch-cpu-error")).to_have_text(OVER)
    expect(cpu).to_have_value("2")

    cpu.fill("1")
    expect(launcher.get_by_text("Fits now")).to_be_visible()
    expect(launcher.get_by_test_id("launch-cpu-fit")).to_have_count(0)
    assert csp_violations == []


def test_start_on_the_summary_opens_the_launcher_in_the_chosen_group(
    page: Page, live_server: str, factory: Factory, database: Database
) -> None:
    with database.session() as db:
        default = projects.default_project(db)
    gpus = new_group(database, projects=(default,))
    factory.agent(cpu="8", mem="16g")
    factory.agent(group=gpus, cpu="32", mem="64g", gpus=4)
    account = factory.user()
    log_in(page, live_server, account.email, account.password)
    panel = page.get_by_role("region", name="Resource Statistics")
    panel.get_by_label("Resource group", exact=True).select_option(gpus)
    expect(panel.get_by_test_id("resources-cuda.device-group-text")).to_have_text("0 / 4 GPUs")

    page.get_by_role("button", name="START").click()
    launcher = page.get_by_role("region", name="Start a session")
    expect(launcher.get_by_label("Resource group")).to_have_value(gpus)
    expect(launcher.get_by_role("slider", name="CPU cores")).to_have_attribute("max", "32")
    expect(
        launcher.get_by_text("Up to 4 GPUs: the most free on one agent of this resource group now.")
    ).to_be_visible()


def test_remaining_counts_the_group_s_free_capacity_in_every_panel(
    page: Page, live_server: str, factory: Factory, database: Database, settings: Settings
) -> None:
    with database.session() as db:
        default = projects.default_project(db)
    empty = new_group(database, projects=(default,))
    factory.agent(cpu="8", mem="16g", gpus=2)
    account = factory.user()
    factory.user_policy(account.user, slots={"cpu": "1.5"}, max_sessions=4)
    start(database, settings, account.user, cpu="1", mem="1g", gpus=1)
    run_round(database)
    log_in(page, live_server, account.email, account.password)
    panel = page.get_by_role("region", name="Resource Statistics")
    expect(panel.get_by_test_id("resources-cpu-remaining")).to_have_text("Remaining: 0.5 cores")
    expect(panel.get_by_test_id("resources-cuda.device-remaining")).to_have_text("Remaining: 1 GPU")
    expect(panel.get_by_test_id("resources-mem-remaining")).to_have_text("Remaining: 15 GiB")

    page.get_by_role("button", name="START").click()  # the launcher agrees with the panel
    launcher = page.get_by_role("region", name="Start a session")
    expect(launcher.get_by_role("slider", name="GPUs")).to_have_attribute("max", "1")
    expect(
        launcher.get_by_text("Up to 1 GPU: the most free on one agent of this resource group now.")
    ).to_be_visible()
    expect(launcher.get_by_text("Up to 0.5 cores: what your limit still allows.")).to_be_visible()
    launcher.get_by_role("link", name="Cancel").click()

    panel.get_by_label("Resource group", exact=True).select_option(empty)
    expect(panel.get_by_test_id("resources-cpu-remaining")).to_have_text("Remaining: 0 cores")
    expect(panel.get_by_test_id("resources-cpu-bound")).to_have_text(
        "(the most free on one agent of this group)"
    )
    page.get_by_role("button", name="START").click()
    launcher = page.get_by_role("region", name="Start a session")
    expect(launcher.get_by_label("Resource group")).to_have_value(empty)
    memory_hint = launcher.locator("#launch-mem-hint")
    expect(memory_hint).to_have_text("None free on any agent of this resource group now.")
    expect(launcher.get_by_text("Up to 0 B")).to_have_count(0)
