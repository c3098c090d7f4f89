"""User administration in a real browser: search, filter, create, edit the role, deactivate,
found by role and label as a person would."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from shipyard.scheduler.service import schedule_once
from shipyard.sessions.models import ComputeSession, SessionStatus
from shipyard.users.models import Role, User, UserStatus
from tests.browser.conftest import log_in
from tests.factories import Factory


def test_search_filter_create_edit_and_deactivate(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    boss = factory.user(role=Role.SUPERADMIN)
    factory.user(full_name="Ada Lovelace")
    factory.user(full_name="Alan Turing")
    log_in(page, live_server, boss.email, boss.password)
    page.goto(f"{live_server}/admin/users")
    table = page.get_by_role("table")

    page.get_by_label("Search").fill("lovelace")
    expect(table.get_by_role("row")).to_have_count(2)  # the header and Ada
    expect(table).to_contain_text("Ada Lovelace")
    expect(page).to_have_url(re.compile(r"q=lovelace"))
    page.get_by_label("Search").fill("")
    page.get_by_label("Role").select_option("superadmin")
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).to_contain_text(boss.email)
    page.go_back()  # the list and the fields as they were before the role filter
    expect(page).to_have_url(re.compile(r"q=lovelace"))
    expect(page.get_by_label("Search")).to_have_value("lovelace")
    expect(page.get_by_label("Role")).to_have_value("")
    expect(table).to_contain_text("Ada Lovelace")
    page.get_by_label("Search").fill("")
    expect(table).to_contain_text("Alan Turing")

    page.get_by_role("button", name="New user").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="New user")).to_be_visible()
    dialog.get_by_label("Email").fill("grace@example.org")
    dialog.get_by_label("Full name").fill("Grace Hopper")
    dialog.get_by_label("Generate one").check()
    dialog.get_by_role("button", name="Create user").click()
    expect(dialog.get_by_role("heading", name="User created")).to_be_visible()
    expect(dialog.get_by_label("Generated password")).not_to_have_value("")
    dialog.get_by_role("button", name="Close").first.click()
    expect(dialog).to_be_hidden()
    expect(table).to_contain_text("grace@example.org")

    table.get_by_role("link", name="grace@example.org").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("grace@example.org")
    page.get_by_label("Role").select_option("admin")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()

    page.get_by_role("button", name="Deactivate").click()
    expect(dialog.get_by_role("heading", name="Deactivate grace@example.org?")).to_be_visible()
    dialog.get_by_role("button", name="Deactivate").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("user-status")).to_have_text("Inactive")
    expect(page.get_by_role("button", name="Reactivate")).to_be_visible()

    with factory.database.session() as db:
        grace = db.scalars(select(User).where(User.email == "grace@example.org")).one()
        assert (grace.role, grace.status) == (Role.ADMIN, UserStatus.INACTIVE)
    assert csp_violations == []


def test_deactivating_says_first_which_of_their_sessions_end(
    page: Page, live_server: str, factory: Factory
) -> None:
    boss = factory.user(role=Role.SUPERADMIN)
    target = factory.user()
    factory.agent(cpu="2")
    running = [factory.session(target.user) for _ in range(2)]
    with factory.database.session() as db:
        schedule_once(db)
    waiting = factory.session(target.user, cpu="2")  # no room left: it waits
    log_in(page, live_server, boss.email, boss.password)
    page.goto(f"{live_server}/admin/users/{target.user.id}")
    page.get_by_role("button", name="Deactivate").click()
    dialog = page.get_by_role("dialog", name=f"Deactivate {target.email}?")
    expect(dialog.get_by_test_id("sessions-to-end")).to_have_text(
        "Their 2 running sessions are stopped now. Their 1 waiting session is cancelled."
    )
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("user-status")).to_have_text("Active")
    with factory.database.session() as db:
        statuses = {db.get(ComputeSession, s.id).status for s in running}  # type: ignore[union-attr]
        assert SessionStatus.TERMINATING not in statuses
        assert db.get(ComputeSession, waiting.id).status is SessionStatus.PENDING  # type: ignore[union-attr]
