"""A console tab whose web session ended elsewhere (logged out in another tab): the page stays
as it is, says the user was logged out, and the way back through the login page leads to that
page, never to a bare fragment."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in
from tests.factories import Account, Factory

LOGGED_OUT = "You have been logged out. Log in again to continue."


def log_out_in_another_tab(page: Page, live_server: str) -> None:
    other = page.context.new_page()
    other.goto(f"{live_server}/")
    other.get_by_role("button", name="User menu").click()
    other.get_by_role("menuitem", name="Log Out").click()
    expect(other).to_have_url(f"{live_server}/login")
    other.close()
    page.bring_to_front()


def fill_login(page: Page, account: Account) -> None:
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Log in").click()


def test_a_summary_tab_left_open_keeps_its_page_and_leads_back_to_it(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    account = factory.user()
    log_in(page, live_server, account.email, account.password)
    expect(page.get_by_role("heading", name="Resource Statistics")).to_be_visible()

    log_out_in_another_tab(page, live_server)  # the tab shows again: its panels refresh

    notice = page.get_by_role("alert").filter(has_text=LOGGED_OUT)
    expect(notice).to_be_visible()
    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("heading", name="Summary", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Resource Statistics")).to_be_visible()
    # Nothing is retried once logged out: no panel claims it is retrying.
    expect(page.get_by_text("Could not refresh")).to_have_count(0)
    again = notice.get_by_role("link", name="Log in again")
    expect(again).to_have_attribute("href", "/login?next=%2F&reason=logged-out")

    again.click()
    expect(page.get_by_role("status")).to_have_text(LOGGED_OUT)
    fill_login(page, account)
    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("heading", name="Summary", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert csp_violations == []


def test_a_dialog_sent_after_logging_out_says_so_and_keeps_what_was_typed(
    page: Page, live_server: str, factory: Factory
) -> None:
    account = factory.user()
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/data")
    page.get_by_role("button", name="New folder").first.click()
    dialog = page.get_by_role("dialog", name="New folder")
    dialog.get_by_label("Name").fill("after-logout")

    log_out_in_another_tab(page, live_server)
    dialog.get_by_role("button", name="Create folder").click()

    notice = page.get_by_role("alert").filter(has_text=LOGGED_OUT)
    expect(notice).to_be_visible()
    expect(page.get_by_text("This form has expired")).to_have_count(0)
    expect(dialog.get_by_label("Name")).to_have_value("after-logout")
    notice.get_by_role("link", name="Log in again").click()
    expect(page).to_have_url(f"{live_server}/login?next=%2Fdata&reason=logged-out")
    fill_login(page, account)
    expect(page).to_have_url(f"{live_server}/data")
    expect(page.get_by_role("heading", name="Data & Storage", level=1)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="after-logout")).to_have_count(0)


def test_logging_in_towards_a_panel_address_shows_its_page(
    page: Page, live_server: str, factory: Factory
) -> None:
    account = factory.user()
    page.goto(f"{live_server}/login?next=/summary/resources")
    fill_login(page, account)
    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("heading", name="Summary", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
