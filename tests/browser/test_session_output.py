"""A session's output in a real browser: colours drawn by a read-only terminal, no control
codes shown, a plain-text download; and the list's row actions (copy id, terminate)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from shipyard.agents.models import Agent
from shipyard.sessions.models import ComputeSession
from shipyard.users.models import User
from tests.agent_logs import serving
from tests.browser.conftest import log_in
from tests.browser.test_sessions import schedule
from tests.factories import Factory

COLOURED = (
    b"\x1b[?2004h\x1b[H\x1b[2J\x1b]0;title\x07"
    b"\x1b[31mred\x1b[0m then plain\r\n"
    b"\x1b[32mgreen\x1b[0m line two\n"
    b"loading 10%\rloading 100%\n"
)


def placed(factory: Factory, owner: User) -> tuple[ComputeSession, Agent]:
    agent = factory.agent()
    session = factory.session(owner)
    schedule(factory)
    return session, agent


def rgb(colour: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", colour)[:3])


def test_output_shows_colours_not_control_codes_and_downloads_as_plain_text(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str], tmp_path: Path
) -> None:
    account = factory.user()
    session, agent = placed(factory, account.user)
    log_in(page, live_server, account.email, account.password)
    with serving(factory.database, agent, COLOURED):
        page.goto(f"{live_server}/sessions/{session.id}")
        output = page.get_by_role("region", name="Output")
        screen = output.get_by_role("log", name=re.compile("^Output of "))
        expect(screen).to_be_visible()
        rows = screen.locator(".xterm-rows")
        expect(rows).to_contain_text("red then plain")
        expect(rows).to_contain_text("loading 100%")
        expect(rows).not_to_contain_text("loading 10%")  # the carriage return overwrote it
        red = rows.locator("span", has_text=re.compile("^red$"))
        r, g, b = rgb(red.evaluate("element => getComputedStyle(element).color"))
        assert (r > 150, g < 100, b < 100) == (True, True, True), (r, g, b)
        green = rows.locator("span", has_text=re.compile("^green$"))
        r, g, b = rgb(green.evaluate("element => getComputedStyle(element).color"))
        assert (g > 150, r < 100) == (True, True), (r, g, b)
        shown = rows.inner_text()
        for code in ("␛", "\x1b", "[?2004h", "[31m", "0;title"):
            assert code not in shown
        expect(output.locator("pre#log-output")).to_be_hidden()

        with page.expect_download() as caught:
            output.get_by_role("link", name="Download as plain text").click()
        saved = tmp_path / "output.txt"
        caught.value.save_as(saved)
    assert caught.value.suggested_filename == f"{session.name}.log.txt"
    assert saved.read_text() == "red then plain\ngreen line two\nloading 100%\n"
    assert csp_violations == []


def test_row_actions_copy_the_id_and_terminate_with_a_confirm(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    account = factory.user()
    factory.agent()
    session = factory.session(account.user)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, account.email, account.password)
    page.goto(f"{live_server}/sessions")
    row = page.get_by_role("row").filter(has_text=session.name)
    actions = row.get_by_role("group", name=f"Actions for {session.name}")
    copy = actions.get_by_role("button", name="Copy id")
    expect(copy).to_be_in_viewport()
    copy.focus()
    page.keyboard.press("Enter")  # by keyboard, as a person without a mouse would
    expect(actions.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == str(session.id)

    terminate = actions.get_by_role("button", name="Terminate")
    expect(terminate).to_be_in_viewport()
    terminate.click()
    dialog = page.get_by_role("dialog", name="Terminate this session?")
    expect(dialog).to_contain_text(session.name)
    dialog.get_by_role("button", name="Terminate").click()
    expect(page).to_have_url(f"{live_server}/sessions")
    expect(page.get_by_text("Nothing is running or waiting")).to_be_visible()
    page.get_by_label("Show finished sessions").check()
    expect(page.get_by_role("row").filter(has_text="CANCELLED")).to_have_count(1)
    assert csp_violations == []
