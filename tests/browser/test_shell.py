"""The console shell in a real browser: log in and out, switch project, About, preferences."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from shipyard import __version__
from tests.browser.conftest import log_in
from tests.factories import Factory


def test_log_in_and_out_through_the_user_menu_and_the_icon(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    account = factory.user(full_name="Grace Hopper")
    log_in(page, live_server, account.email, account.password)
    expect(page.get_by_role("heading", name="Summary", level=1)).to_be_visible()
    page.get_by_role("button", name="User menu").click()
    page.get_by_role("menuitem", name="Log Out").click()
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_role("heading", name="Log in to your account")).to_be_visible()

    log_in(page, live_server, account.email, account.password)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server}/login")
    page.goto(f"{live_server}/")
    expect(page).to_have_url(f"{live_server}/login")
    assert csp_violations == []


def test_a_wrong_password_is_announced(page: Page, live_server: str, factory: Factory) -> None:
    account = factory.user()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill("Wrong-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Incorrect email or password.")
    expect(page.get_by_label("Email")).to_have_value(account.email)


def test_switching_the_project_updates_the_page_without_reload(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    account = factory.user()
    project = factory.project(members=(account.user,), description="Protein folding")
    log_in(page, live_server, account.email, account.password)
    summary = page.get_by_role("region", name="Current project")
    expect(summary).to_contain_text("default")
    page.evaluate("window.__sameDocument = true")

    page.get_by_label("Project", exact=True).select_option(label=project.name)
    expect(summary).to_contain_text(project.name)
    expect(summary).to_contain_text("Protein folding")
    assert page.evaluate("window.__sameDocument") is True

    page.reload()
    expect(page.get_by_label("Project", exact=True)).to_have_value(str(project.id))
    assert csp_violations == []


def test_about_shows_version_and_license(page: Page, live_server: str, factory: Factory) -> None:
    account = factory.user()
    log_in(page, live_server, account.email, account.password)
    page.get_by_role("button", name="User menu").click()
    page.get_by_role("menuitem", name="About").click()
    dialog = page.get_by_role("dialog", name="About Shipyard")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(__version__)
    expect(dialog).to_contain_text("Apache License 2.0")
    dialog.get_by_role("button", name="Close").first.click()
    expect(dialog).to_be_hidden()


def test_menu_pages_open(page: Page, live_server: str, factory: Factory) -> None:
    account = factory.user(full_name="Alan Turing")
    log_in(page, live_server, account.email, account.password)
    page.get_by_role("button", name="User menu").click()
    page.get_by_role("menuitem", name="My Account").click()
    my_account = page.get_by_role("dialog", name="My Account")
    expect(my_account.get_by_label("Full Name")).to_have_value("Alan Turing")
    my_account.get_by_role("button", name="Close").first.click()
    expect(my_account).to_be_hidden()
    for item, heading in (
        ("Preferences", "Preferences"),
        ("Logs / Errors", "Logs / Errors"),
    ):
        page.get_by_role("button", name="User menu").click()
        page.get_by_role("menuitem", name=item).click()
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
    page.goto(f"{live_server}/account")
    expect(page.get_by_role("main").get_by_text("Alan Turing")).to_be_visible()


def test_dark_theme_and_korean_from_preferences(
    page: Page, live_server: str, factory: Factory
) -> None:
    account = factory.user()
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/preferences")
    page.get_by_label("Language").select_option("ko")
    page.get_by_label("Dark").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("button", name="로그아웃")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("환경 설정을 저장했습니다.")


def test_system_theme_follows_the_browser(page: Page, live_server: str, factory: Factory) -> None:
    account = factory.user()
    page.emulate_media(color_scheme="dark")
    log_in(page, live_server, account.email, account.password)
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    page.emulate_media(color_scheme="light")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")


def test_client_log_records_requests_and_is_cleared_at_logout(
    page: Page, live_server: str, factory: Factory
) -> None:
    account = factory.user()
    project = factory.project(members=(account.user,))
    log_in(page, live_server, account.email, account.password)
    page.get_by_label("Project", exact=True).select_option(label=project.name)
    expect(page.get_by_role("region", name="Current project")).to_contain_text(project.name)
    page.goto(f"{live_server}/logs")
    rows = page.locator("#log-rows tr")
    expect(rows.filter(has_text="/current-project")).to_have_count(1)
    page.get_by_label("Errors only").check()
    expect(rows.filter(has_text="/current-project")).to_have_count(0)
    page.get_by_label("Errors only").uncheck()
    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/logs")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_text("Nothing recorded yet.")
