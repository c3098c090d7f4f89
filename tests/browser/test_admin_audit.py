"""The audit log in a real browser: an admin filters by action and downloads the CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.api.audit_helpers import BASE_TIME, seed
from tests.browser.conftest import log_in
from tests.factories import Factory


def test_an_admin_filters_by_action_and_exports_csv(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    seed(factory.database, 3, action="user.role_change", target_label="ann@example.org")
    seed(
        factory.database,
        2,
        action="auth.login_failed",
        actor_email="=cmd|' /C calc'!A0",
        success=False,
        start=BASE_TIME + timedelta(days=1),
    )
    account = factory.admin()
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/admin/audit")
    rows = page.get_by_role("table", name="Audit log entries, newest first").locator("tbody tr")
    expect(rows).to_have_count(6)  # the seeded five and this login
    expect(page.get_by_text("6 entries")).to_be_visible()

    page.get_by_label("Action").select_option(label="Failed login")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(f"{live_server}/admin/audit?action=auth.login_failed")
    expect(rows.first.get_by_role("cell").nth(5)).to_have_text("Failed")
    expect(rows.first.locator("time")).to_have_attribute("title", "2024-05-02 12:01:00 UTC")

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Export CSV").click()
    download = waiting.value
    assert download.suggested_filename.startswith("shipyard-audit-")
    text = download.path().read_text(encoding="utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert [(row["action"], row["result"]) for row in exported] == [
        ("auth.login_failed", "failure")
    ] * 2
    assert {row["actor"] for row in exported} == {"'=cmd|' /C calc'!A0"}

    page.reload()  # the filter lives in the URL
    expect(rows).to_have_count(2)
    expect(page.get_by_label("Action")).to_have_value("auth.login_failed")
    assert csp_violations == []
