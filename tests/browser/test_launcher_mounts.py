"""Mounting folders from the console: tick them in the launcher, find them on the session."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from shipyard.storage.models import Perm
from tests.browser.conftest import log_in
from tests.factories import Factory


def test_ticked_folders_are_mounted_and_listed_on_the_session_page(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    factory.agent(cpu="8", mem="16g")
    account = factory.user()
    factory.folder(account.user, name="results")
    friend = factory.user()
    models = factory.folder(friend.user, name="models")
    factory.share(models, friend.user, account, Perm.RO)
    factory.folder(account.user, name="unused")
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/sessions")

    page.get_by_role("button", name="Start", exact=True).click()
    launcher = page.get_by_role("region", name="Start a session")
    folders = launcher.get_by_role("group", name="Folders")
    expect(folders.get_by_role("checkbox")).to_have_count(3)
    expect(folders.get_by_text("read-only")).to_have_count(1)
    read_only = folders.get_by_role("checkbox", name="models")
    expect(read_only).to_have_accessible_name(re.compile(r"models\s+read-only"))
    read_only.check()
    folders.get_by_role("checkbox", name="results").check()
    launcher.get_by_label("Command").fill("ls /home/work")
    expect(launcher.get_by_text("Fits now")).to_be_visible()
    launcher.get_by_role("button", name="Start session").click()

    expect(page).to_have_url(re.compile(rf"{live_server}/sessions/[0-9a-f-]{{36}}$"))
    mounted = page.get_by_test_id("session-mounts").get_by_role("listitem")
    expect(mounted).to_have_count(2)
    expect(mounted.filter(has_text="models")).to_contain_text("/home/work/models read-only")
    expect(mounted.filter(has_text="results")).to_have_text("results /home/work/results")
    expect(page.get_by_role("link", name="models")).to_have_attribute("href", f"/data/{models.id}")

    page.get_by_role("link", name="All sessions").click()
    expect(page.get_by_role("row").filter(has_text="Folders:")).to_contain_text(
        "Folders: models (read-only), results"
    )
    assert csp_violations == []


def test_without_folders_the_launcher_links_to_data_and_storage(
    page: Page, live_server: str, factory: Factory
) -> None:
    factory.agent(cpu="8", mem="16g")
    account = factory.user()
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/sessions")

    page.get_by_role("button", name="Start", exact=True).click()
    folders = page.get_by_role("group", name="Folders")
    expect(folders).to_contain_text("You have no folders to mount.")
    expect(folders.get_by_role("link", name="Create one in Data & Storage")).to_have_attribute(
        "href", "/data"
    )
