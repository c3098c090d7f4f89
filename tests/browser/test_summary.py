"""The Summary page in a real browser: panels with their figures, START, the announcement,
invitations answered card by card, switching the project, and a panel that fails and recovers."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, Route, expect

from shipyard.scheduler.service import schedule_once
from shipyard.storage import sharing
from shipyard.storage.models import Perm
from tests.browser.conftest import log_in
from tests.factories import Account, Factory

STALE = "Could not refresh — retrying"


def invite(factory: Factory, invitee: Account, *names: str) -> Account:
    owner = factory.user()
    for name in names:
        folder = factory.folder(owner.user, name=name)
        with factory.database.session() as db:
            sharing.invite(
                db, user=db.merge(owner.user), ref=str(folder.id), email=invitee.email, perm=Perm.RW
            )
    return owner


def running(factory: Factory, account: Account, *, cpu: str) -> None:
    factory.session(account.user, cpu=cpu, mem="1g")
    with factory.database.session() as db:
        schedule_once(db)


def refresh(page: Page, panel: str) -> None:
    """What the five-second timer does, now."""
    page.evaluate("name => htmx.trigger('#live-' + name, 'summary:refresh')", panel)


def test_a_user_sees_the_figures_and_switching_the_project_changes_them(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    factory.agent(cpu="8", mem="16g")
    me = factory.user()
    other_project = factory.project(members=(me.user,))
    running(factory, me, cpu="2")
    log_in(page, live_server, me.email, me.password)

    expect(page.get_by_role("heading", name="Summary", level=1)).to_be_visible()
    for name in ("Start", "Resource Statistics", "System Resources", "Announcement", "Invitations"):
        expect(page.get_by_role("region", name=name)).to_be_visible()
    shortcuts = page.get_by_role("navigation", name="Shortcuts")
    expect(shortcuts.get_by_role("link", name=re.compile("Data & Storage"))).to_be_visible()
    expect(shortcuts.get_by_role("link", name="Users")).to_have_count(0)
    expect(shortcuts.get_by_role("link", name="Maintenance")).to_have_count(0)

    resources = page.get_by_role("region", name="Resource Statistics")
    expect(resources.get_by_test_id("resources-cpu-user-text")).to_have_text("2 / ∞ cores")
    expect(resources.get_by_test_id("resources-cpu-group-text")).to_have_text("2 / 8 cores")
    expect(resources.get_by_test_id("resources-cpu-project-text")).to_have_text("2 / ∞ cores")
    system = page.get_by_role("region", name="System Resources")
    expect(system.get_by_test_id("system-sessions")).to_have_text("1")
    expect(system.get_by_test_id("system-cpu")).to_have_count(0)  # admins only
    page.evaluate("window.__sameDocument = true")

    page.get_by_label("Project", exact=True).select_option(label=other_project.name)
    expect(resources.get_by_test_id("resources-cpu-project-text")).to_have_text("0 / ∞ cores")
    expect(resources.get_by_role("progressbar", name=f"CPU used in project {other_project.name}"))
    expect(resources.get_by_test_id("resources-cpu-user-text")).to_have_text("2 / ∞ cores")
    assert page.evaluate("window.__sameDocument") is True
    assert csp_violations == []


def test_start_opens_the_sessions_launcher_here_and_starts_a_session(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    factory.agent(cpu="8", mem="16g")
    me = factory.user()
    log_in(page, live_server, me.email, me.password)
    page.get_by_role("button", name="START").click()
    launcher = page.get_by_role("region", name="Start a session")
    expect(launcher.get_by_label("Environment")).to_have_value("python")
    expect(page).to_have_url(f"{live_server}/")
    launcher.get_by_label("Command").fill("echo from the summary")
    launcher.get_by_role("spinbutton", name="CPU cores").fill("2")
    expect(launcher.get_by_role("slider", name="CPU cores")).to_have_value("2")
    expect(launcher.get_by_text("Fits now")).to_be_visible()

    launcher.get_by_role("link", name="Close the launcher").click()
    expect(launcher).to_have_count(0)
    expect(page.get_by_role("button", name="START")).to_be_focused()

    page.get_by_role("button", name="START").click()
    launcher.get_by_label("Command").fill("echo from the summary")
    launcher.get_by_role("button", name="Start session").click()
    expect(page).to_have_url(re.compile(rf"{live_server}/sessions/[0-9a-f-]{{36}}$"))
    expect(page.get_by_test_id("session-status")).to_have_text("PENDING")
    assert csp_violations == []


def test_an_admin_gets_the_shortcuts_and_the_announcement_arrives_by_itself(
    page: Page, browser: Browser, live_server: str, factory: Factory
) -> None:
    admin = factory.admin()
    log_in(page, live_server, admin.email, admin.password)
    shortcuts = page.get_by_role("navigation", name="Shortcuts")
    expect(shortcuts.get_by_role("link", name="Users")).to_have_attribute("href", "/admin/users")
    expect(shortcuts.get_by_role("link", name="Maintenance")).to_have_attribute(
        "href", "/admin/maintenance"
    )
    system = page.get_by_role("region", name="System Resources")
    expect(system.get_by_test_id("system-cpu")).to_be_visible()

    user = factory.user()
    context = browser.new_context()
    reader = context.new_page()
    log_in(reader, live_server, user.email, user.password)
    panel = reader.get_by_role("region", name="Announcement")
    expect(panel).to_contain_text("No announcement")
    reader.evaluate("window.__sameDocument = true")

    page.goto(f"{live_server}/admin/announcement")
    page.get_by_label("Announcement (Markdown)").fill("**Upgrade** on Friday")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Announcement saved.")).to_be_visible()

    expect(panel.locator("strong")).to_have_text("Upgrade")  # the panel's own refresh
    expect(panel).not_to_contain_text("No announcement")
    assert reader.evaluate("window.__sameDocument") is True
    context.close()


def test_three_invitations_each_answered_on_its_own(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    me = factory.user()
    owner = invite(factory, me, "alpha", "beta", "gamma")
    log_in(page, live_server, me.email, me.password)
    panel = page.get_by_role("region", name="Invitations")
    expect(panel.get_by_role("article")).to_have_count(3)
    alpha = panel.get_by_role("article", name="alpha")
    beta = panel.get_by_role("article", name="beta")
    gamma = panel.get_by_role("article", name="gamma")
    expect(alpha).to_contain_text(f"From {owner.email}")
    expect(alpha).to_contain_text("read-write")
    page.evaluate("window.__sameDocument = true")

    alpha.get_by_role("button", name="Accept").click()
    expect(alpha.get_by_role("status")).to_contain_text("Accepted")
    expect(beta.get_by_role("button", name="Decline")).to_be_enabled()
    beta.get_by_role("button", name="Decline").click()
    expect(beta.get_by_role("status")).to_have_text("Declined.")
    expect(gamma.get_by_role("button", name="Accept")).to_be_enabled()

    refresh(page, "invitations")  # nothing new: the answered cards keep their answers
    page.wait_for_load_state("networkidle")
    expect(alpha.get_by_role("status")).to_contain_text("Accepted")
    gamma.get_by_role("button", name="Accept").click()
    expect(gamma.get_by_role("status")).to_contain_text("Accepted")
    assert page.evaluate("window.__sameDocument") is True

    alpha.get_by_role("link", name="Open Data & Storage").click()
    expect(page).to_have_url(re.compile(r"/data\?tab=shared$"))
    expect(page.get_by_text("alpha").first).to_be_visible()
    expect(page.get_by_text("gamma").first).to_be_visible()
    assert csp_violations == []


def test_a_failing_panel_says_so_keeps_its_figures_and_recovers(
    page: Page, live_server: str, factory: Factory
) -> None:
    factory.agent(cpu="8", mem="16g")
    me = factory.user()
    invite(factory, me, "corpus")
    log_in(page, live_server, me.email, me.password)
    announcement = page.get_by_role("region", name="Announcement")
    expect(announcement).to_contain_text("No announcement")

    def fail(route: Route) -> None:
        route.fulfill(status=500, body="")

    page.route(re.compile(r".*/summary/announcement.*"), fail)
    refresh(page, "announcement")
    notice = page.locator("#live-announcement").locator("xpath=..").get_by_role("status")
    expect(notice).to_have_text(STALE)
    expect(announcement).to_contain_text("No announcement")  # the last figures stay
    expect(page.get_by_role("alert")).to_have_count(0)  # no toast for a refresh
    refresh(page, "invitations")
    expect(page.get_by_role("region", name="Invitations").get_by_role("article")).to_have_count(1)
    expect(page.get_by_text(STALE)).to_have_count(1)

    page.unroute(re.compile(r".*/summary/announcement.*"))
    refresh(page, "announcement")
    expect(notice).to_be_hidden()  # an empty notice takes no room
    expect(page.get_by_text(STALE)).to_have_count(0)
    expect(announcement).to_contain_text("No announcement")


def test_in_korean_start_and_the_default_project_are_translated_and_labels_keep_whole(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    account = factory.user()
    with factory.database.session() as db:
        db.merge(account.user).language = "ko"
        db.commit()
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    log_in(page, live_server, account.email, account.password)
    start = page.get_by_role("region", name="시작")
    expect(start.get_by_role("button", name="시작")).to_be_visible()
    project = page.get_by_role("region", name="현재 프로젝트")
    expect(project).to_contain_text("모든 사용자가 속한 프로젝트입니다.")
    expect(project).not_to_contain_text("Every user belongs here.")
    label = page.locator("label[for=project-select]")
    expect(label).to_have_text("프로젝트")
    lines = label.evaluate(
        "e => e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight)"
    )
    assert round(lines) == 1
    context.close()
