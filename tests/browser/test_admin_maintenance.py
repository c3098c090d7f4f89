"""Maintenance and the announcement in a real browser, found by role and label."""

from __future__ import annotations

import re

from fastapi import FastAPI
from playwright.sync_api import Page, expect

from shipyard.db import Database
from tests.browser.conftest import log_in
from tests.factories import Factory
from tests.maintenance_helpers import Gate, busy, corrupt, install_gate


def test_recalculate_shows_the_corrected_drifts(
    page: Page, live_server: str, factory: Factory, database: Database, csp_violations: list[str]
) -> None:
    admin = factory.admin()
    world = busy(factory, database)
    corrupt(database, world)
    log_in(page, live_server, admin.email, admin.password)
    page.goto(f"{live_server}/admin/maintenance")
    expect(page.get_by_role("heading", name="Maintenance", level=1)).to_be_visible()

    page.get_by_role("button", name="Start: Recalculate usage").click()
    card = page.get_by_role("region", name="Recalculate usage")
    expect(card.get_by_text("Corrected 3 drifts:")).to_be_visible()
    table = card.get_by_role("table")
    alice = table.get_by_role("row").filter(has_text=world.alice.email)
    expect(alice.get_by_role("cell")).to_have_text(["User", world.alice.email, "CPU", "8", "3"])
    expect(table.get_by_role("row").filter(has_text="Memory")).to_contain_text("4 GiB")
    history = page.get_by_role("region", name="Recent tasks")
    expect(history.get_by_role("row").filter(has_text="Recalculate usage")).to_contain_text(
        "Succeeded"
    )

    page.get_by_role("button", name="Start: Recalculate usage").click()
    expect(card.get_by_text("No drift: the ledger matched the sessions.")).to_be_visible()
    assert csp_violations == []


def test_progress_survives_a_reload(
    page: Page, live_server: str, app: FastAPI, factory: Factory, database: Database
) -> None:
    gate = Gate()
    install_gate(app, database, gate)
    admin = factory.admin()
    log_in(page, live_server, admin.email, admin.password)
    page.goto(f"{live_server}/admin/maintenance")
    page.get_by_role("button", name="Start: Rescan environments").click()
    assert gate.reached.wait(30)
    bar = page.get_by_role("progressbar", name="Progress of Rescan environments")
    expect(bar).to_have_attribute("aria-valuenow", "50")

    page.reload()
    expect(bar).to_have_attribute("aria-valuenow", "50")
    expect(page.get_by_role("button", name="Start: Rescan environments")).to_be_disabled()
    gate.opened.set()
    card = page.get_by_role("region", name="Rescan environments")
    expect(card.get_by_text("gated-env")).to_be_visible()  # the poll brought the result
    expect(bar).to_have_count(0)
    expect(page.get_by_role("button", name="Start: Rescan environments")).to_be_enabled()


def test_announcement_preview_banner_dismiss_and_clear(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    admin = factory.admin()
    log_in(page, live_server, admin.email, admin.password)
    page.goto(f"{live_server}/admin/announcement")
    editor = page.get_by_label("Announcement (Markdown)")
    editor.fill("**Downtime** tonight, see [status](https://status.example.org)")
    preview = page.get_by_role("region", name="Preview")
    expect(preview.locator("strong")).to_have_text("Downtime")  # rendered by the server
    expect(preview.get_by_role("link", name="status")).to_have_attribute(
        "rel", "noopener noreferrer"
    )
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Announcement saved.")).to_be_visible()

    page.goto(f"{live_server}/sessions")
    banner = page.get_by_role("status", name="Announcement")
    expect(banner).to_contain_text("Downtime tonight")
    banner.get_by_role("button", name="Dismiss announcement").click()
    expect(banner).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", name="Sessions", level=1)).to_be_visible()
    expect(banner).to_have_count(0)  # dismissed for this message

    page.goto(f"{live_server}/admin/announcement")
    page.get_by_label("Announcement (Markdown)").fill("A *new* message")
    page.get_by_role("button", name="Save").click()
    expect(banner).to_contain_text("A new message")  # a new message shows again

    page.get_by_role("button", name="Clear").click()
    dialog = page.get_by_role("dialog", name="Clear the announcement?")
    dialog.get_by_role("button", name="Clear announcement").click()
    expect(page.get_by_role("status").filter(has_text="Announcement cleared.")).to_be_visible()
    expect(banner).to_have_count(0)
    page.goto(f"{live_server}/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(banner).to_have_count(0)
    assert not [v for v in csp_violations if re.search("script|style", v)]
