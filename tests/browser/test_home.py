"""A home that persists (issue 14, capability 2), as a user meets it in the console: the
launcher says what persists and what does not, and Data & Storage shows the home (made by the
first session) with its size, apart from the folders, and offers neither Rename nor Share."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from shipyard.storage import homes, hosts
from tests.browser.conftest import log_in
from tests.factories import Factory

SHOTS = Path(os.environ.get("SHIPYARD_SHOTS", "/work/shots/14"))


def test_the_launcher_says_what_persists_and_data_shows_the_home(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    factory.agent(cpu="8", mem="16g")
    account = factory.user()
    factory.folder(account.user, name="results")
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/data")
    expect(page.get_by_test_id("home-note")).to_contain_text("made when you start your first")

    page.goto(f"{live_server}/sessions")
    page.get_by_role("button", name="Start", exact=True).click()
    launcher = page.get_by_role("region", name="Start a session")
    persistence = launcher.get_by_test_id("launch-persistence")
    expect(persistence).to_contain_text("your home, /home/work, is kept between sessions")
    expect(persistence).to_contain_text("running programs and anything outside /home/work")
    expect(launcher.get_by_role("group", name="Folders").get_by_role("checkbox")).to_have_count(1)
    launcher.get_by_label("Command").fill("true")
    launcher.get_by_role("button", name="Start session").click()
    expect(page).to_have_url(re.compile(rf"{live_server}/sessions/[0-9a-f-]{{36}}$"))
    _fill_home(factory, account.user.id, 3 * 2**20)

    page.goto(f"{live_server}/data")
    rows = page.get_by_role("tabpanel", name="My folders").get_by_role("row")
    expect(rows).to_have_count(3)  # the header, the home first, then the folder
    home = rows.nth(1)
    expect(home).to_contain_text("Home")
    expect(home.get_by_test_id("home-badge")).to_have_text("/home/work")
    expect(home).to_contain_text("3.0 MiB")
    expect(page.get_by_test_id("folder-count")).to_contain_text("1 /")  # not counted
    expect(page.get_by_test_id("home-note")).to_have_count(0)
    home.get_by_role("button", name="Actions for Home").click()
    menu = home.get_by_role("menu")
    expect(menu.get_by_role("menuitem", name="Open")).to_be_visible()
    expect(menu.get_by_role("menuitem", name="Rename")).to_have_count(0)
    expect(menu.get_by_role("menuitem", name="Share")).to_have_count(0)
    page.keyboard.press("Escape")
    assert csp_violations == []


def _fill_home(factory: Factory, user_id: object, size: int) -> None:
    """Write into the home on disk, as a session would."""
    with factory.database.session() as db:
        home = homes.home_of(db, user_id)  # type: ignore[arg-type]
        assert home is not None
        directory = hosts.directory(factory.settings, home)
    (directory / ".bash_history").write_bytes(b"x" * size)


@pytest.mark.parametrize("width", [1440, 390])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screens_of_the_home(
    page: Page, live_server: str, factory: Factory, width: int, theme: str
) -> None:
    factory.agent(cpu="8", mem="16g")
    account = factory.user()
    factory.folder(account.user, name="results")
    factory.session(account.user)
    _fill_home(factory, account.user.id, 5 * 2**20)
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(color_scheme=theme)
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/data")
    expect(page.get_by_test_id("home-badge")).to_be_visible()
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / f"home-data-{theme}-{width}.png"), full_page=True)
    page.goto(f"{live_server}/sessions")
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.get_by_test_id("launch-persistence")).to_be_visible()
    if SHOTS.is_dir():
        page.get_by_test_id("launch-persistence").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"home-launcher-{theme}-{width}.png"))
