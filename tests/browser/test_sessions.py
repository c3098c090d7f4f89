"""Sessions in a real browser: start one from the launcher, follow it, terminate it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from shipyard.agents.models import Agent
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import service as sessions
from tests.browser.conftest import log_in
from tests.factories import Factory


def schedule(factory: Factory) -> None:
    with factory.database.session() as db:
        schedule_once(db)


def agent_reports_nothing_running(factory: Factory, agent: Agent) -> None:
    """What the agent's next heartbeat says once the session's process is gone."""
    with factory.database.session() as db:
        sessions.apply_reports(db, agent=db.get_one(Agent, agent.id), reports=[])
        db.commit()


def test_start_a_batch_session_follow_it_and_terminate_it(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    agent = factory.agent(cpu="8", mem="16g")
    account = factory.user()
    log_in(page, live_server, account.email, account.password)
    page.get_by_role("link", name="Sessions").click()
    expect(page.get_by_role("heading", name="Sessions", level=1)).to_be_visible()
    expect(page.get_by_text("Nothing is running or waiting")).to_be_visible()

    page.get_by_role("button", name="Start", exact=True).click()
    launcher = page.get_by_role("region", name="Start a session")
    expect(launcher.get_by_label("Environment")).to_have_value("python")
    expect(launcher.get_by_label("Batch")).to_be_checked()
    launcher.get_by_label("Command").fill("echo hello")
    expect(launcher.get_by_role("slider", name="CPU cores")).to_have_attribute("max", "8")
    launcher.get_by_role("spinbutton", name="CPU cores").fill("2")
    expect(launcher.get_by_role("slider", name="CPU cores")).to_have_value("2")
    expect(launcher.get_by_text("Fits now")).to_be_visible()
    launcher.get_by_role("button", name="Start session").click()

    expect(page).to_have_url(re.compile(rf"{live_server}/sessions/[0-9a-f-]{{36}}$"))
    status = page.get_by_test_id("session-status")
    expect(status).to_have_text("PENDING")
    expect(page.get_by_role("region", name="Details")).to_contain_text("2 CPU · 1 GiB")
    page.evaluate("window.__sameDocument = true")

    schedule(factory)
    expect(status).to_have_text("SCHEDULED", timeout=6000)
    expect(page.get_by_role("region", name="Status")).to_contain_text(agent.id)
    expect(page.get_by_role("region", name="Output")).to_contain_text(
        "The session's agent cannot be reached right now."
    )

    page.get_by_role("button", name="Terminate").click()
    dialog = page.get_by_role("dialog", name="Terminate this session?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Terminate").click()
    expect(status).to_have_text("TERMINATING")
    expect(page.get_by_test_id("session-status-info")).to_have_text("Terminated by the user.")
    page.evaluate("window.__sameDocument = true")

    agent_reports_nothing_running(factory, agent)
    expect(status).to_have_text("TERMINATED", timeout=6000)
    expect(page.get_by_role("button", name="Terminate")).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True

    page.get_by_role("link", name="All sessions").click()
    page.get_by_label("Show finished sessions").check()
    expect(page.get_by_role("row").filter(has_text="TERMINATED")).to_have_count(1)
    assert csp_violations == []


def test_the_launcher_says_which_limit_blocks_before_submitting(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    factory.agent(cpu="8", mem="16g")
    account = factory.user()
    factory.user_policy(account.user, slots={"cpu": "1"})
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/sessions")
    page.get_by_role("button", name="Start", exact=True).click()
    launcher = page.get_by_role("region", name="Start a session")
    expect(launcher.get_by_role("slider", name="CPU cores")).to_have_attribute("max", "1")
    expect(launcher.get_by_text("Up to 1 core: what your limit still allows.")).to_be_visible()
    launcher.get_by_label("Command").fill("echo hello")
    expect(launcher.get_by_text("Fits now")).to_be_visible()

    launcher.get_by_role("spinbutton", name="CPU cores").fill("2")
    expect(launcher.get_by_text("Does not fit now")).to_be_visible()
    expect(launcher.get_by_role("listitem")).to_have_text(
        "Your limit: CPU: this asks for 2 cores, but your limit of 1 core leaves 1 core "
        "(0 cores in use)."
    )

    launcher.get_by_role("button", name="Start session").click()
    expect(launcher.locator("#launch-cpu-error")).to_have_text(
        "CPU: this asks for 2 cores, but your limit of 1 core leaves 1 core (0 cores in use)."
    )
    expect(launcher.get_by_role("spinbutton", name="CPU cores")).to_have_value("2")
    expect(launcher.get_by_label("Command")).to_have_value("echo hello")
    expect(page).to_have_url(f"{live_server}/sessions")
    assert csp_violations == []


def test_the_list_refreshes_itself(page: Page, live_server: str, factory: Factory) -> None:
    factory.agent(cpu="8", mem="16g")
    account = factory.user()
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/sessions")
    expect(page.get_by_text("Nothing is running or waiting")).to_be_visible()
    created = factory.session(account.user)
    row = page.get_by_role("row").filter(has_text=created.name)
    expect(row).to_contain_text("PENDING", timeout=6000)
    schedule(factory)
    expect(row).to_contain_text("SCHEDULED", timeout=6000)
    row.get_by_role("link", name=created.name).click()
    expect(page.get_by_role("heading", name=created.name, level=1)).to_be_visible()
