"""The Logs / Errors page in a real browser: failed requests with masked parameters, script
errors, the errors-only filter, search, clearing with confirmation, and clearing at logout."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from shipyard.auth import personal_tokens
from tests.browser.conftest import log_in
from tests.factories import Account, Factory


def failed_login(page: Page, base: str, account: Account) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill("Not-the-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Incorrect email or password.")


def log_rows(page: Page) -> Locator:
    return page.get_by_role("table", name="Client log").locator("tbody tr")


def test_a_failed_request_is_listed_with_its_secrets_masked(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    account = factory.user()
    failed_login(page, live_server, account)
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/logs")
    row = log_rows(page).filter(has_text="/login")
    expect(row).to_have_count(1)
    cells = row.get_by_role("cell")
    expect(cells.nth(1)).to_have_text("401")
    expect(cells.nth(2)).to_have_text("Request")
    expect(cells.nth(3)).to_have_text("POST")
    expect(cells.nth(5)).to_have_text("Unauthorized")
    expect(cells.nth(6)).to_have_text("Incorrect email or password.")
    expect(cells.nth(7)).to_contain_text(f"email={account.email}")
    expect(cells.nth(7)).to_contain_text("password=***")
    expect(page.get_by_role("main")).not_to_contain_text("Not-the-password-1")
    assert csp_violations == []


def test_htmx_failures_and_script_errors_filter_search_and_clear(
    page: Page, live_server: str, factory: Factory
) -> None:
    account = factory.user()
    with factory.database.session() as db:
        _raw, token = personal_tokens.create_token(
            db, user=db.merge(account.user), name="old", days=None, settings=factory.settings
        )
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/preferences")
    with factory.database.session() as db:  # revoked meanwhile, from another device
        personal_tokens.revoke_token(db, user=db.merge(account.user), token_id=token.id)
    page.get_by_role("button", name="Revoke token old").click()
    expect(page.get_by_role("alert").filter(has_text="No such API token.")).to_be_visible()
    page.get_by_label("Token name").fill("fresh")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_label("New API token")).to_be_visible()
    page.evaluate(
        "() => new Promise((done) => setTimeout(() => {"
        " done(); throw new TypeError('the widget broke'); }))"
    )

    page.goto(f"{live_server}/logs")
    rows = log_rows(page)
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("JS error")
    expect(rows.nth(0)).to_contain_text("TypeError")
    expect(rows.nth(0)).to_contain_text("the widget broke")
    expect(rows.nth(1)).to_contain_text("name=fresh, expires_in_days=90")
    failed = rows.nth(2)
    expect(failed).to_contain_text("404")
    expect(failed).to_contain_text(f"/preferences/tokens/{token.id}/revoke")
    expect(failed).to_contain_text("Page not found")

    page.get_by_label("Errors only").check()
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="fresh")).to_have_count(0)
    page.get_by_label("Search the log").fill("widget")
    expect(rows).to_have_count(1)
    page.get_by_label("Search the log").fill("no such thing anywhere")
    expect(rows).to_have_text(["No entry matches the filter."])
    page.get_by_label("Search the log").fill("")
    page.get_by_label("Errors only").uncheck()
    expect(rows).to_have_count(3)

    page.get_by_role("button", name="Clear").click()
    dialog = page.get_by_role("dialog", name="Clear the log?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Refresh").click()
    expect(rows).to_have_count(3)
    # Someone quick confirms while the dialog is still fading in (Bootstrap ignores hide()
    # then): the log is cleared and the dialog still closes once it has shown.
    closed = page.evaluate(
        """() => new Promise((done) => {
          const dialog = document.getElementById("log-clear-dialog");
          dialog.addEventListener("hidden.bs.modal", () => done(true), { once: true });
          setTimeout(() => done(false), 5000);
          document.getElementById("log-clear").click();
          document.getElementById("log-clear-confirm").click();
        })"""
    )
    assert closed, "the dialog stayed open after a quick Clear log"
    expect(dialog).to_be_hidden()
    expect(rows).to_have_text(["Nothing recorded yet."])
    page.reload()
    expect(rows).to_have_text(["Nothing recorded yet."])


def test_logging_out_clears_the_log(page: Page, live_server: str, factory: Factory) -> None:
    account = factory.user()
    failed_login(page, live_server, account)
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/logs")
    expect(log_rows(page)).to_have_count(1)
    page.get_by_role("button", name="User menu").click()
    page.get_by_role("menuitem", name="Log Out").click()
    expect(page).to_have_url(f"{live_server}/login")
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/logs")
    expect(log_rows(page)).to_have_text(["Nothing recorded yet."])


def test_severity_follows_the_status_and_refused_forms(
    page: Page, live_server: str, factory: Factory
) -> None:
    factory.agent(cpu="8", mem="16g")
    account = factory.user()
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/data")
    page.get_by_role("button", name="New folder").first.click()
    dialog = page.get_by_role("dialog", name="New folder")
    dialog.get_by_label("Name").fill("bad name")
    dialog.get_by_role("button", name="Create folder").click()  # refused, answered 200
    expect(dialog.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    page.goto(f"{live_server}/sessions")
    page.get_by_role("button", name="Start", exact=True).click()
    launcher = page.get_by_role("region", name="Start a session")
    launcher.get_by_label("Command").fill("echo hello")
    launcher.get_by_role("button", name="Start session").click()  # 200, on to the session
    expect(page).to_have_url(re.compile(rf"{live_server}/sessions/[0-9a-f-]{{36}}$"))

    page.goto(f"{live_server}/logs")
    rows = log_rows(page)
    refused = rows.filter(has_text="/data/new").filter(has_text="POST")
    expect(refused).to_have_count(1)
    cells = refused.get_by_role("cell")
    expect(cells.nth(1)).to_have_text("200")
    expect(cells.nth(1)).not_to_have_class(re.compile("text-danger"))
    expect(cells.nth(2)).to_have_text("Validation error")
    expect(cells.nth(2)).to_have_class(re.compile("text-danger"))
    expect(cells.nth(6)).to_contain_text("bad name is not a valid folder name.")
    expect(cells.nth(7)).to_contain_text("name=bad name")
    started = rows.filter(has=page.get_by_role("cell", name="/sessions", exact=True))
    expect(started).to_have_count(1)
    expect(started.get_by_role("cell").nth(1)).to_have_text("200")
    for cell in started.get_by_role("cell").all():
        expect(cell).not_to_have_class(re.compile("text-danger"))

    page.get_by_label("Errors only").check()
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(["Validation error"])
