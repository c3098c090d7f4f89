"""Two-factor login in a real browser: set up from My Account, log in with codes, turn off."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect

from shipyard.app import bind
from shipyard.config import Settings
from shipyard.db import Database
from tests.browser.conftest import log_in
from tests.factories import Factory
from tests.twofactor import FakeClock, install_clock, turn_on


@pytest.fixture
def totp_available() -> bool:
    """Whether the server offers 2FA; a test parametrizes it to False to see it hidden."""
    return True


@pytest.fixture
def app(
    worker_app: FastAPI, settings: Settings, database: Database, totp_available: bool
) -> FastAPI:
    """The worker's app, with 2FA offered or not."""
    changed = settings.model_copy(update={"totp_available": totp_available})
    bind(worker_app, changed, database=database, run_scheduler=False)
    return worker_app


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    return install_clock(monkeypatch)


def open_my_account(page: Page) -> None:
    page.get_by_role("button", name="User menu").click()
    page.get_by_role("menuitem", name="My Account").click()
    expect(page.get_by_role("dialog", name="My Account")).to_be_visible()


def log_out(page: Page, base: str) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{base}/login")


def password_step(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def code_step(page: Page, label: str, code: str) -> None:
    page.get_by_label(label).fill(code)
    page.get_by_role("button", name="Log in").click()


def test_two_factor_from_setup_to_turning_it_off(
    page: Page, live_server: str, factory: Factory, clock: FakeClock, csp_violations: list[str]
) -> None:
    account = factory.user()
    log_in(page, live_server, account.email, account.password)
    open_my_account(page)
    page.get_by_role("switch", name="2FA Enabled").click()
    dialog = page.get_by_role("dialog", name="Set up two-factor login")
    expect(
        dialog.get_by_role("img", name="QR code to scan with your authenticator app")
    ).to_be_visible()
    key = "".join(dialog.get_by_label("Key for manual entry").input_value().split())
    dialog.get_by_label("Verification code").fill("12345")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog.get_by_text("A one-time password has 6 digits.")).to_be_visible()
    dialog.get_by_label("Verification code").fill(clock.code(key))
    dialog.get_by_role("button", name="Confirm").click()

    shown = page.get_by_role("dialog", name="Recovery codes")
    expect(shown.get_by_text("Two-factor login is on.")).to_be_visible()
    codes = (
        shown.get_by_role("list", name="Recovery codes").get_by_role("listitem").all_inner_texts()
    )
    assert len(codes) == 10
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    shown.get_by_role("button", name="Copy").click()
    expect(shown.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()").split() == codes
    with page.expect_download() as download:
        shown.get_by_role("link", name="Download").click()
    assert Path(download.value.path()).read_text().split() == codes
    shown.get_by_role("button", name="Done").click()
    expect(page.get_by_role("switch", name="2FA Enabled")).to_be_checked()
    page.keyboard.press("Escape")
    log_out(page, live_server)

    # A wrong password never shows the code step.
    password_step(page, live_server, account.email, "Wrong-password-1")
    expect(page.get_by_role("alert")).to_have_text("Incorrect email or password.")
    expect(page.get_by_label("One-time password")).to_have_count(0)

    clock.tick()  # the setup code's step is used up; the app shows the next code
    code = clock.code(key)
    password_step(page, live_server, account.email, account.password)
    expect(page).to_have_url(f"{live_server}/login/otp")
    code_step(page, "One-time password", code)
    expect(page).to_have_url(f"{live_server}/")
    log_out(page, live_server)

    password_step(page, live_server, account.email, account.password)
    code_step(page, "One-time password", code)
    expect(page.get_by_role("alert")).to_have_text(
        "This one-time password was already used. Wait for the next one."
    )
    page.get_by_role("link", name="Use a recovery code").click()
    code_step(page, "Recovery code", codes[0])
    expect(page).to_have_url(f"{live_server}/")
    log_out(page, live_server)

    password_step(page, live_server, account.email, account.password)
    page.get_by_role("link", name="Use a recovery code").click()
    code_step(page, "Recovery code", codes[0])
    expect(page.get_by_role("alert")).to_have_text("Incorrect or already used recovery code.")
    code_step(page, "Recovery code", codes[1])
    expect(page).to_have_url(f"{live_server}/")

    clock.tick()
    open_my_account(page)
    page.get_by_role("switch", name="2FA Enabled").click()
    confirm = page.get_by_role("dialog", name="Turn off two-factor login?")
    confirm.get_by_label("One-time password").fill(clock.code(key))
    confirm.get_by_role("button", name="Turn off").click()
    expect(page.get_by_text("Two-factor login is off.")).to_be_visible()
    page.get_by_role("button", name="Back to My Account").click()
    expect(page.get_by_role("switch", name="2FA Enabled")).not_to_be_checked()
    page.keyboard.press("Escape")
    log_out(page, live_server)

    log_in(page, live_server, account.email, account.password)  # straight in: no code step
    assert csp_violations == []


@pytest.mark.parametrize("totp_available", [False])
def test_where_the_server_has_two_factor_off_there_is_no_switch_and_no_code_step(
    page: Page,
    live_server: str,
    factory: Factory,
    database: Database,
    settings: Settings,
    clock: FakeClock,
) -> None:
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    log_in(page, live_server, account.email, account.password)  # lands on / without a code
    open_my_account(page)
    expect(page.get_by_label("Full Name")).to_be_visible()
    expect(page.get_by_role("switch", name="2FA Enabled")).to_have_count(0)
