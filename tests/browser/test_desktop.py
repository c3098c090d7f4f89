"""The console as a desktop app in Chromium: the service worker and manifest, the Install
button, the offline page, and the preselected native download."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect

from shipyard import __version__
from shipyard.config import DesktopConfig
from shipyard.web import webapp
from tests.browser.conftest import log_in
from tests.factories import Account, Factory

BASE = "https://downloads.example.com/shipyard"
# A synthetic beforeinstallprompt: what Chromium fires when the console may be installed.
OFFER_INSTALL = """() => {
  window.promptCalls = 0;
  const offer = new Event("beforeinstallprompt", { cancelable: true });
  offer.prompt = () => {
    window.promptCalls += 1;
    return Promise.resolve({ outcome: "accepted" });
  };
  offer.userChoice = Promise.resolve({ outcome: "accepted", platform: "web" });
  window.dispatchEvent(offer);
  return offer.defaultPrevented;
}"""
# What Windows on Arm tells a page that asks (its User-Agent says x64, frozen).
WINDOWS_ON_ARM_HINTS = """
Object.defineProperty(navigator, "userAgentData", { configurable: true, value: {
  platform: "Windows", mobile: false, brands: [],
  getHighEntropyValues: async () => ({ platform: "Windows", architecture: "arm", bitness: "64" }),
}});
"""
RUNNING_INSTALLED = """
const realMatchMedia = window.matchMedia.bind(window);
window.matchMedia = (query) => query.includes("display-mode: standalone")
  ? { matches: true, media: query, addEventListener() {}, removeEventListener() {} }
  : realMatchMedia(query);
"""
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0.0.0"


@pytest.fixture
def member(page: Page, live_server: str, factory: Factory) -> Account:
    account = factory.user()
    log_in(page, live_server, account.email, account.password)
    return account


def panel_of(page: Page) -> Any:
    return page.get_by_role("region", name="Desktop app")


def test_the_service_worker_registers_and_the_manifest_is_installable(
    page: Page, live_server: str, member: Account, csp_violations: list[str]
) -> None:
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == f"{live_server}/"
    script = page.evaluate("navigator.serviceWorker.ready.then((r) => r.active.scriptURL)")
    assert script == f"{live_server}/service-worker.js"
    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"] == f"{live_server}/manifest.webmanifest"
    assert manifest["errors"] == []
    assert '"display": "standalone"' in manifest["data"]
    page.reload()  # now controlled by the worker: pages still come from the server
    expect(page.get_by_role("heading", name="Summary", level=1)).to_be_visible()
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    # Chromium's own verdict; Playwright's contexts are incognito, which nothing can install in.
    verdict = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [error["errorId"] for error in verdict] == ["in-incognito"]
    # Redirects still pass through the worker: logged out, a page leads to the login form.
    page.context.clear_cookies()
    page.goto(f"{live_server}/sessions")
    page.wait_for_url(re.compile(r"/login\?next=%2Fsessions|/login\?next=/sessions"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert csp_violations == []


def test_the_install_button_appears_when_offered_and_prompts(
    page: Page, live_server: str, member: Account
) -> None:
    panel = panel_of(page)
    install = panel.get_by_role("button", name="Install app")
    expect(panel).to_contain_text("Install Shipyard as an app")
    expect(install).to_be_hidden()
    assert page.evaluate(OFFER_INSTALL) is True  # the browser's own infobar is held back
    expect(install).to_be_visible()
    install.click()
    expect(install).to_be_hidden()  # a prompt can be shown once
    assert page.evaluate("window.promptCalls") == 1


def test_inside_the_installed_app_there_is_nothing_to_install(
    page: Page, live_server: str, member: Account
) -> None:
    page.add_init_script(RUNNING_INSTALLED)
    page.goto(f"{live_server}/")
    page.evaluate(OFFER_INSTALL)
    panel = panel_of(page)
    expect(panel.get_by_text("You are using the installed app.")).to_be_visible()
    expect(panel.get_by_role("button", name="Install app")).to_be_hidden()


def test_offline_navigation_shows_the_offline_page(
    page: Page, live_server: str, member: Account
) -> None:
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.context.set_offline(True)
    try:
        page.goto(f"{live_server}/sessions")
        expect(page.get_by_role("heading", name="Shipyard cannot be reached")).to_be_visible()
        expect(page.get_by_role("link", name="Try again")).to_be_visible()
    finally:
        page.context.set_offline(False)
    page.get_by_role("link", name="Try again").click()
    expect(page.get_by_role("heading", name="Sessions", level=1)).to_be_visible()


@pytest.fixture
def downloads(app: FastAPI) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"desktop": DesktopConfig(download_base_url=BASE)}
    )


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "user_agent": WINDOWS}


def test_the_browser_corrects_the_servers_guess_of_windows_on_arm(
    page: Page, live_server: str, downloads: None, member: Account
) -> None:
    # From the User-Agent alone the server guesses x64 ...
    served = page.request.get(f"{live_server}/").text()
    assert "Download for Windows (x64)" in served
    # ... and the browser, asked for its architecture, says Arm.
    page.add_init_script(WINDOWS_ON_ARM_HINTS)
    page.reload()
    panel = panel_of(page)
    told = panel.get_by_role("link", name="Download for Windows (Arm64)")
    expect(told).to_have_attribute(
        "href", f"{BASE}/{__version__}/shipyard-desktop-{__version__}-windows-arm64.exe"
    )
    expect(panel.get_by_role("link", name="Windows Arm64")).to_have_attribute(
        "aria-current", "true"
    )
    expect(panel.get_by_role("link", name="Windows x64")).not_to_have_attribute(
        "aria-current", "true"
    )
    expect(panel.get_by_role("link", name="Download for Windows (x64)")).to_have_count(0)
    expect(panel.get_by_role("link", name="All versions")).to_have_attribute("href", f"{BASE}/")


def test_a_new_version_replaces_the_worker_and_drops_the_old_cache(
    page: Page, live_server: str, member: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    page.evaluate("navigator.serviceWorker.ready")
    old = page.evaluate("caches.keys()")
    assert len(old) == 1
    assert old[0].startswith(f"shipyard-{__version__}-")
    monkeypatch.setattr(webapp, "assets_digest", lambda: "0123456789ab")  # an upgrade
    page.evaluate("navigator.serviceWorker.ready.then((r) => r.update())")
    page.wait_for_function(
        """async () => {
          const names = await caches.keys();
          return names.length === 1 && names[0].endsWith("-0123456789ab");
        }"""
    )
    page.reload()  # the new worker serves the page and its assets
    expect(page.get_by_role("region", name="Desktop app")).to_be_visible()


def test_the_native_app_promises_nothing_that_does_not_exist(
    page: Page, live_server: str, downloads: None, member: Account
) -> None:
    page.reload()
    panel = panel_of(page)
    expect(panel.get_by_role("heading", name="Native desktop app")).to_be_visible()
    expect(panel).not_to_contain_text("SSH")
    expect(panel).not_to_contain_text("SFTP")
