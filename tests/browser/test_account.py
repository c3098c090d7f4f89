"""My Account in a real browser: the dialog from the user menu, the name, the password, the
view toggles, and what a password change does to the user's other browsers."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import log_in
from tests.factories import Account, Factory

NEW_PASSWORD = "Brand-new-pass-9"


@pytest.fixture
def account(page: Page, live_server: str, factory: Factory) -> Account:
    account = factory.user(full_name="Grace Hopper")
    log_in(page, live_server, account.email, account.password)
    return account


def open_my_account(page: Page) -> Locator:
    page.get_by_role("button", name="User menu").click()
    page.get_by_role("menuitem", name="My Account").click()
    dialog = page.get_by_role("dialog", name="My Account")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Full Name")).to_be_focused()  # opened, as a person would wait
    return dialog


def fill_passwords(dialog: Locator, *, current: str, new: str, again: str) -> None:
    dialog.get_by_label("Original password").fill(current)
    dialog.get_by_label("New password", exact=True).fill(new)
    dialog.get_by_label("New password again").fill(again)
    dialog.get_by_role("button", name="Update").click()


def can_log_in(browser: Browser, base: str, account: Account, password: str) -> bool:
    """Try the password in a fresh browser; True when it reaches the Summary page."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{base}/login")
        page.get_by_label("Email").fill(account.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        summary = page.get_by_role("heading", name="Summary", level=1)
        expect(summary.or_(page.get_by_role("alert"))).to_be_visible()
        return summary.is_visible()
    finally:
        context.close()


def test_changing_the_name_shows_in_the_top_bar(
    page: Page, live_server: str, account: Account, csp_violations: list[str]
) -> None:
    dialog = open_my_account(page)
    expect(dialog.get_by_label("Full Name")).to_have_value("Grace Hopper")
    expect(dialog).to_contain_text(account.email)
    dialog.get_by_label("Full Name").fill("Grace Brewster Hopper")
    dialog.get_by_role("button", name="Update").click()
    expect(dialog.get_by_role("status")).to_have_text("Your account has been updated.")
    expect(page.get_by_role("button", name="User menu")).to_contain_text("Grace Brewster Hopper")
    dialog.get_by_role("button", name="Close").first.click()
    expect(dialog).to_be_hidden()
    page.reload()
    expect(page.get_by_role("button", name="User menu")).to_contain_text("Grace Brewster Hopper")
    assert csp_violations == []


def test_a_too_long_or_empty_name_is_refused_by_the_field(
    page: Page, live_server: str, account: Account
) -> None:
    dialog = open_my_account(page)
    name = dialog.get_by_label("Full Name")
    name.fill("   ")
    name.press("Enter")  # the keyboard submits the form too
    name = dialog.get_by_label("Full Name")
    expect(name).to_have_accessible_description(
        re.compile("Enter your full name \\(1 to 64 characters\\)\\.")
    )
    expect(page.get_by_role("button", name="User menu")).to_contain_text("Grace Hopper")


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("Ab1-", "The password must have 8 to 256 characters."),
        ("abcdefgh-", "The password needs at least one letter, one digit and one symbol."),
        ("abcdefgh1", "The password needs at least one letter, one digit and one symbol."),
        ("12345678-", "The password needs at least one letter, one digit and one symbol."),
    ],
)
def test_weak_passwords_are_explained(
    page: Page, live_server: str, browser: Browser, account: Account, new: str, message: str
) -> None:
    dialog = open_my_account(page)
    fill_passwords(dialog, current=account.password, new=new, again=new)
    expect(dialog.get_by_label("New password", exact=True)).to_have_accessible_description(
        re.compile(re.escape(message))
    )
    assert can_log_in(browser, live_server, account, account.password)


def test_mismatch_and_wrong_original_change_nothing(
    page: Page, live_server: str, browser: Browser, account: Account
) -> None:
    dialog = open_my_account(page)
    fill_passwords(dialog, current=account.password, new=NEW_PASSWORD, again=NEW_PASSWORD + "x")
    expect(dialog.get_by_label("New password again")).to_have_accessible_description(
        "The new passwords do not match."
    )
    fill_passwords(dialog, current="Wrong-pass-1", new=NEW_PASSWORD, again=NEW_PASSWORD)
    expect(dialog.get_by_label("Original password")).to_have_accessible_description(
        "The original password is not correct."
    )
    assert can_log_in(browser, live_server, account, account.password)
    assert not can_log_in(browser, live_server, account, NEW_PASSWORD)


def test_a_new_password_logs_out_the_other_browsers(
    page: Page, live_server: str, browser: Browser, account: Account
) -> None:
    other_context = browser.new_context()
    other = other_context.new_page()
    log_in(other, live_server, account.email, account.password)

    dialog = open_my_account(page)
    fill_passwords(dialog, current=account.password, new=NEW_PASSWORD, again=NEW_PASSWORD)
    expect(dialog.get_by_role("status")).to_contain_text("Your password has been changed.")
    expect(dialog.get_by_label("Original password")).to_have_value("")

    other.reload()
    expect(other).to_have_url(f"{live_server}/login")
    other_context.close()

    page.goto(f"{live_server}/sessions")  # this browser is still logged in
    expect(page.get_by_role("heading", name="Sessions", level=1)).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server}/login")
    log_in(page, live_server, account.email, NEW_PASSWORD)
    assert not can_log_in(browser, live_server, account, account.password)


def test_the_view_icon_shows_and_hides_the_password(
    page: Page, live_server: str, account: Account
) -> None:
    dialog = open_my_account(page)
    field = dialog.get_by_label("Original password")
    field.fill("secret-Value-1")
    expect(field).to_have_attribute("type", "password")
    show = dialog.get_by_role("button", name="Show password").first
    expect(show).to_have_attribute("aria-pressed", "false")
    show.click()
    expect(field).to_have_attribute("type", "text")
    hide = dialog.get_by_role("button", name="Hide password")
    expect(hide).to_have_attribute("aria-pressed", "true")
    hide.click()
    expect(field).to_have_attribute("type", "password")
    expect(dialog.get_by_role("button", name="Show password")).to_have_count(3)


def test_the_page_works_without_the_dialog(page: Page, live_server: str, account: Account) -> None:
    page.goto(f"{live_server}/account")
    expect(page.get_by_role("heading", name="My Account", level=1)).to_be_visible()
    main = page.get_by_role("main")
    main.get_by_label("Full Name").fill("Rear Admiral Hopper")
    main.get_by_role("button", name="Update").click()
    expect(page).to_have_url(f"{live_server}/account?updated=profile")
    expect(main.get_by_role("status")).to_have_text("Your account has been updated.")
    expect(page.get_by_role("button", name="User menu")).to_contain_text("Rear Admiral Hopper")
