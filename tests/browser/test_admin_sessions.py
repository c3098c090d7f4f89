"""The admin Sessions view in a real browser: an admin opens a list filtered by user from a
shared link, pages through it by cursor, terminates a running session with a reason, and
the owner reads that reason on their session page; found by role and label."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Browser, Page, expect

from shipyard.admin.sessions import PAGE_SIZE
from shipyard.agents.models import Agent
from shipyard.agents.schemas import SessionReport
from shipyard.db import Database, utcnow
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import service as sessions
from shipyard.sessions.models import ComputeSession, SessionStatus
from shipyard.users.models import User
from tests.browser.conftest import log_in
from tests.factories import Factory


def finished(database: Database, template: ComputeSession, owner: User, count: int) -> None:
    """`count` finished sessions of `owner`, older than any made since, named old-0 (newest)."""
    now = utcnow()
    with database.session() as db:
        for number in range(count):
            db.add(
                ComputeSession(
                    name=f"old-{number}",
                    owner_id=owner.id,
                    project_id=template.project_id,
                    resource_group_id=template.resource_group_id,
                    environment_id=template.environment_id,
                    type=template.type,
                    requested=template.requested,
                    status=SessionStatus.TERMINATED,
                    status_info="Finished.",
                    created_at=now - timedelta(days=1, minutes=number),
                )
            )
        db.commit()


def running(database: Database, agent: Agent, session: ComputeSession) -> None:
    with database.session() as db:
        schedule_once(db)
        db.commit()
        report = SessionReport(session_id=session.id, running=True)
        sessions.apply_reports(db, agent=db.merge(agent), reports=[report])
        db.commit()


def test_filter_by_user_page_terminate_and_the_owner_reads_why(
    page: Page,
    browser: Browser,
    live_server: str,
    factory: Factory,
    database: Database,
    csp_violations: list[str],
) -> None:
    agent = factory.agent()
    owner, bystander = factory.user(), factory.user()
    busy = factory.session(owner.user, command="python train.py")
    running(database, agent, busy)
    finished(database, busy, owner.user, PAGE_SIZE)  # with `busy`: one more than a page
    other = factory.session(bystander.user)
    boss = factory.admin()
    log_in(page, live_server, boss.email, boss.password)

    page.goto(f"{live_server}/admin/sessions?user={owner.email}")
    table = page.get_by_role("table")
    expect(page.get_by_label("User")).to_have_value(owner.email)
    expect(page.get_by_role("status").filter(has_text="sessions match")).to_have_text(
        f"{PAGE_SIZE + 1} sessions match"
    )
    expect(table.get_by_role("row")).to_have_count(PAGE_SIZE + 1)  # the header and a page
    expect(table).to_contain_text(busy.name)
    expect(table).not_to_contain_text(other.name)
    expect(table).not_to_contain_text(f"old-{PAGE_SIZE - 1}")

    page.get_by_role("link", name="Older").click()
    expect(page).to_have_url(re.compile(r"after="))
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).to_contain_text(f"old-{PAGE_SIZE - 1}")
    page.get_by_role("link", name="Newer").click()
    expect(table).to_contain_text(busy.name)
    expect(page.get_by_role("link", name="Newer")).to_have_count(0)

    page.get_by_label("Status").select_option("RUNNING")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"status=RUNNING"))
    expect(table.get_by_role("row")).to_have_count(2)
    page.reload()  # the address alone shows the same list
    expect(page.get_by_label("Status")).to_have_value("RUNNING")
    expect(table.get_by_role("row")).to_have_count(2)
    page.get_by_label("Status").select_option("")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{live_server}/admin/sessions?user={owner.email.replace('@', '%40')}")

    table.get_by_role("link", name=f"Terminate {busy.name}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=f"Terminate {busy.name}?")).to_be_visible()
    dialog.get_by_role("button", name="Terminate").click()
    expect(
        dialog.get_by_text("Say why the session ends; its owner reads the reason.")
    ).to_be_visible()
    dialog.get_by_label("Reason").fill("Node maintenance at 18:00")
    dialog.get_by_role("button", name="Terminate").click()
    expect(dialog).to_be_hidden()
    reason = "Terminated by an administrator: Node maintenance at 18:00"
    expect(table.get_by_role("row").nth(1)).to_contain_text("TERMINATING")
    expect(table).to_contain_text(reason)
    expect(table.get_by_role("link", name=f"Terminate {busy.name}")).to_have_count(0)

    context = browser.new_context()
    try:
        theirs = context.new_page()
        log_in(theirs, live_server, owner.email, owner.password)
        theirs.goto(f"{live_server}/sessions/{busy.id}")
        expect(theirs.get_by_test_id("session-status-info")).to_have_text(reason)
    finally:
        context.close()
    assert csp_violations == []


def test_a_user_gets_no_admin_sessions_and_a_bad_filter_says_why(
    page: Page, live_server: str, factory: Factory
) -> None:
    user, boss = factory.user(), factory.admin()
    log_in(page, live_server, user.email, user.password)
    response = page.goto(f"{live_server}/admin/sessions")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("table")).to_have_count(0)
    page.context.clear_cookies()

    log_in(page, live_server, boss.email, boss.password)
    page.goto(f"{live_server}/admin/sessions?user=nobody@example.org")
    expect(page.get_by_text("No user has the email or id nobody@example.org.")).to_be_visible()
    expect(page.get_by_label("User")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("No sessions match")).to_be_visible()
