"""Preferences in a real browser: language and theme, API tokens, SSH keys, desktop
notifications and the automatic logout after idle minutes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from shipyard.sessions import service as sessions
from tests.browser.conftest import log_in
from tests.factories import Account, Factory

# A fixed key for machines without ssh-keygen, and the fingerprint ssh-keygen gives for it.
FIXED_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlZjUtCmRszCrRUYzX4iWrmlLXnB002/tCU6TAL3qnb alice@laptop"
)
FIXED_FP = "SHA256:7DRcY934zSXs7Bn9yC21Itbt4XJY8aIJ2fLzWq+zpY4"

# Test double: a Notification class that records what the page would show, always granted.
RECORDING_NOTIFICATION = """
window.__notifications = [];
window.Notification = class RecordingNotification {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) {
    window.__notifications.push({ title: title, body: (options || {}).body });
  }
};
"""


def public_key(tmp_path: Path) -> tuple[str, str]:
    """A fresh ed25519 public key and its fingerprint (the fixed one without ssh-keygen)."""
    keygen = shutil.which("ssh-keygen")
    if keygen is None:
        return FIXED_KEY, FIXED_FP
    path = tmp_path / "id_ed25519"
    run = [keygen, "-q", "-t", "ed25519", "-N", "", "-C", "ada@workstation", "-f", str(path)]
    subprocess.run(run, check=True, capture_output=True)
    listed = subprocess.run(
        [keygen, "-l", "-f", f"{path}.pub"], check=True, capture_output=True, text=True
    )
    return Path(f"{path}.pub").read_text(), listed.stdout.split()[1]


def open_preferences(page: Page, base: str, account: Account) -> None:
    log_in(page, base, account.email, account.password)
    page.goto(f"{base}/preferences")


def test_korean_and_back_and_the_dark_theme(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    open_preferences(page, live_server, factory.user())
    page.get_by_label("Language").select_option("ko")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("status")).to_have_text("환경 설정을 저장했습니다.")

    page.get_by_label("언어").select_option("en")
    page.get_by_role("button", name="저장").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("status")).to_have_text("Preferences saved.")
    page.get_by_label("Dark").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    page.reload()
    expect(page.get_by_label("Dark")).to_be_checked()
    assert csp_violations == []


def test_an_api_token_is_shown_once_works_and_stops_when_revoked(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    open_preferences(page, live_server, factory.user())
    tokens = page.get_by_role("region", name="API tokens")
    tokens.get_by_role("button", name="Create token").click()
    expect(tokens.get_by_text("A token name must have 1 to 64 characters.")).to_be_visible()

    tokens.get_by_label("Token name").fill("notebook")
    tokens.get_by_label("Expires after").select_option(label="30 days")
    tokens.get_by_role("button", name="Create token").click()
    raw = tokens.get_by_label("New API token").input_value()
    assert raw.startswith("shy_")
    bearer = {"Authorization": f"Bearer {raw}"}
    assert httpx.get(f"{live_server}/api/v1/me", headers=bearer).status_code == 200

    page.reload()
    expect(tokens.get_by_label("New API token")).to_have_count(0)
    expect(tokens.get_by_role("cell", name=f"{raw[:12]}…")).to_be_visible()
    assert raw not in page.content()

    tokens.get_by_role("button", name="Revoke token notebook").click()
    dialog = page.get_by_role("dialog", name="Revoke notebook?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert httpx.get(f"{live_server}/api/v1/me", headers=bearer).status_code == 200
    tokens.get_by_role("button", name="Revoke token notebook").click()
    dialog.get_by_role("button", name="Revoke token").click()
    expect(tokens.get_by_text("You have no API tokens.")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Token notebook revoked.")).to_be_visible()
    assert httpx.get(f"{live_server}/api/v1/me", headers=bearer).status_code == 401
    assert csp_violations == []


def test_ssh_keys_are_added_refused_when_bad_and_deleted(
    page: Page, live_server: str, factory: Factory, tmp_path: Path, csp_violations: list[str]
) -> None:
    key, fingerprint = public_key(tmp_path)
    comment = key.split()[2]
    open_preferences(page, live_server, factory.user())
    keys = page.get_by_role("region", name="SSH keys")
    keys.get_by_label("Public key").fill(key)
    keys.get_by_role("button", name="Add key").click()
    expect(keys.get_by_text(f"Key {comment} added.")).to_be_visible()
    expect(keys.get_by_role("cell", name=fingerprint)).to_be_visible()

    keys.get_by_label("Public key").fill(key)
    keys.get_by_label("Key name").fill("again")
    keys.get_by_role("button", name="Add key").click()
    expect(keys.get_by_text(f"This key is already in your list, as {comment}.")).to_be_visible()
    keys.get_by_label("Public key").fill("ssh-rsa this-is-not-a-key")
    keys.get_by_role("button", name="Add key").click()
    expect(keys.get_by_label("Public key")).to_have_attribute("aria-invalid", "true")
    expect(
        keys.get_by_text("The key's data is damaged. Paste the whole line again.")
    ).to_be_visible()
    expect(keys.get_by_role("row")).to_have_count(2)  # the header and the one key

    keys.get_by_role("button", name=f"Delete key {comment}").click()
    page.get_by_role("dialog", name=f"Delete {comment}?").get_by_role(
        "button", name="Delete key"
    ).click()
    expect(keys.get_by_text("You have no SSH keys.")).to_be_visible()
    assert csp_violations == []


def test_a_session_status_change_raises_one_desktop_notification(
    page: Page, context: BrowserContext, live_server: str, factory: Factory
) -> None:
    context.grant_permissions(["notifications"])
    page.add_init_script(RECORDING_NOTIFICATION)
    page.clock.install()
    account = factory.user()
    factory.agent()
    session = factory.session(account.user)
    open_preferences(page, live_server, account)
    page.get_by_role("switch", name="Desktop notifications when a session changes state").check()
    with page.expect_response(lambda response: "/api/v1/sessions" in response.url):
        page.get_by_role("button", name="Save").click()
    with page.expect_response(lambda response: "/api/v1/sessions" in response.url):
        page.clock.fast_forward(10_000)
    assert page.evaluate("window.__notifications") == []  # the first look only takes note

    with factory.database.session() as db:
        sessions.terminate(db, viewer=db.merge(account.user), session_id=session.id)
    with page.expect_response(lambda response: "/api/v1/sessions" in response.url):
        page.clock.fast_forward(10_000)
    page.wait_for_function("window.__notifications.length > 0")
    with page.expect_response(lambda response: "/api/v1/sessions" in response.url):
        page.clock.fast_forward(10_000)
    assert page.evaluate("window.__notifications") == [
        {"title": "Shipyard", "body": f"Session {session.name} is CANCELLED."}
    ]


def test_idle_minutes_warn_then_log_out(page: Page, live_server: str, factory: Factory) -> None:
    page.clock.install()
    account = factory.user()
    open_preferences(page, live_server, account)
    page.get_by_label("Idle time").select_option(label="Other…")
    page.get_by_label("Minutes (5 to 1440)").fill("5")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Preferences saved.")

    warning = page.get_by_role("alert").filter(has_text="You will be logged out in a minute")
    page.clock.fast_forward("04:05")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Move the mouse or press a key to stay logged in.")
    page.keyboard.press("Shift")
    expect(warning).to_be_hidden()
    page.clock.fast_forward("04:05")
    expect(warning).to_be_visible()
    page.clock.fast_forward("01:00")
    expect(page).to_have_url(f"{live_server}/login?reason=idle")
    page.goto(f"{live_server}/preferences")
    expect(page).to_have_url(f"{live_server}/login?next=/preferences")


def test_a_theme_shows_as_soon_as_it_is_chosen_and_only_saving_keeps_it(
    page: Page, live_server: str, factory: Factory
) -> None:
    open_preferences(page, live_server, factory.user())
    html = page.locator("html")
    page.get_by_label("Light").check()
    page.get_by_role("button", name="Save").click()
    expect(html).to_have_attribute("data-bs-theme", "light")
    page.get_by_label("Dark").check()
    expect(html).to_have_attribute("data-bs-theme", "dark")  # before saving
    page.get_by_label("Light").check()
    expect(html).to_have_attribute("data-bs-theme", "light")
    page.get_by_label("Dark").check()
    page.get_by_role("link", name="Summary").click()  # leaves without saving
    expect(page).to_have_url(f"{live_server}/")
    expect(html).to_have_attribute("data-bs-theme", "light")


def test_the_ssh_keys_section_does_not_promise_ssh_access(
    page: Page, live_server: str, factory: Factory
) -> None:
    open_preferences(page, live_server, factory.user())
    keys = page.get_by_role("region", name="SSH keys")
    expect(keys).to_contain_text("SSH access to sessions is not available yet")
    expect(keys).not_to_contain_text("may log in to your sessions")
