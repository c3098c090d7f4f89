"""The announcement editor and the banner every console page shows."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.factories import Account, Factory
from tests.querycount import QueryCounter
from tests.webclient import session_csrf

PAGE = "/admin/announcement"
HTMX = {"HX-Request": "true"}
BANNER = re.compile(r'<div class="alert[^"]*announcement-banner".*?</button>', re.S)
PREVIEW = re.compile(r'data-testid="preview-html">(.*?)</div>', re.S)
MESSAGE = "**Planned downtime** on Friday: see [status](https://status.example.org)."


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> Account:
    account = factory.admin()
    factory.web_login(client, account)
    return account


def post(
    client: TestClient, path: str, data: dict[str, str], *, headers: dict[str, str] | None = None
) -> httpx.Response:
    token = session_csrf(client)
    response: httpx.Response = client.post(
        path, data={**data, "csrf_token": token}, headers=headers, follow_redirects=False
    )
    return response


def banner_of(html: str) -> str | None:
    found = BANNER.search(html)
    return found.group(0) if found else None


def switch_to(client: TestClient, factory: Factory, account: Account) -> None:
    client.cookies.clear()
    factory.web_login(client, account)


@pytest.mark.smoke
def test_saved_banner_shows_on_every_page_until_cleared(
    client: TestClient, admin: Account, factory: Factory
) -> None:
    assert banner_of(client.get("/").text) is None
    saved = post(client, PAGE, {"message": MESSAGE, "enabled": "on"})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{PAGE}?done=saved"
    assert "Announcement saved." in client.get(saved.headers["location"]).text

    user = factory.user()
    switch_to(client, factory, user)
    for path in ("/", "/sessions", "/data", "/preferences"):
        banner = banner_of(client.get(path).text)
        assert banner, path
        assert 'role="status"' in banner
        assert "<strong>Planned downtime</strong>" in banner
        assert 'href="https://status.example.org" rel="noopener noreferrer"' in banner
        assert 'aria-label="Dismiss announcement"' in banner

    switch_to(client, factory, admin)
    cleared = post(client, f"{PAGE}/clear", {})
    assert cleared.headers["location"] == f"{PAGE}?done=cleared"
    switch_to(client, factory, user)
    assert banner_of(client.get("/").text) is None


def test_preview_is_exactly_the_banner(client: TestClient, admin: Account) -> None:
    preview = post(client, f"{PAGE}/preview", {"message": MESSAGE}, headers=HTMX)
    assert preview.status_code == 200
    previewed = PREVIEW.search(preview.text)
    assert previewed
    post(client, PAGE, {"message": MESSAGE, "enabled": "on"})
    banner = banner_of(client.get("/").text)
    assert banner
    assert previewed.group(1).strip() in banner
    editor = client.get(PAGE).text  # the editor opens with the saved message and its preview
    assert "Planned downtime** on Friday" in editor
    assert previewed.group(1).strip() in editor


def test_hostile_markdown_is_inert_in_the_banner(client: TestClient, admin: Account) -> None:
    hostile = '<script>alert(1)</script> <img src=x onerror="alert(1)"> [x](javascript:alert(1))'
    post(client, PAGE, {"message": hostile, "enabled": "on"})
    banner = banner_of(client.get("/").text)
    assert banner
    assert "<script>" not in banner
    assert "<img" not in banner
    assert "javascript:alert(1))" in banner  # as text
    assert 'href="javascript' not in banner


def test_a_hidden_announcement_shows_no_banner(client: TestClient, admin: Account) -> None:
    post(client, PAGE, {"message": "draft"})  # the switch left off
    assert banner_of(client.get("/").text) is None
    editor = client.get(PAGE).text
    assert ">draft</textarea>" in editor


def test_bad_input_is_shown_in_the_editor_and_changes_nothing(
    client: TestClient, admin: Account
) -> None:
    post(client, PAGE, {"message": "before", "enabled": "on"})
    too_long = post(client, PAGE, {"message": "x" * 5001, "enabled": "on"})
    assert too_long.status_code == 422
    assert "at most 5000 characters" in too_long.text
    empty = post(client, PAGE, {"message": "  ", "enabled": "on"})
    assert empty.status_code == 422
    assert "Write a message" in empty.text
    preview = post(client, f"{PAGE}/preview", {"message": "x" * 5001}, headers=HTMX)
    assert "at most 5000 characters" in preview.text
    assert "before" in (banner_of(client.get("/").text) or "")


def test_the_banner_costs_one_statement_per_page(
    client: TestClient, admin: Account, queries: QueryCounter
) -> None:
    queries.reset()
    client.get("/sessions")
    without = queries.count
    post(client, PAGE, {"message": MESSAGE, "enabled": "on"})
    queries.reset()
    client.get("/sessions")
    assert queries.count == without  # the same lookup, now finding a message


def test_normal_users_get_403(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    factory.web_login(client, account)
    assert client.get(PAGE).status_code == 403
    for path in (PAGE, f"{PAGE}/clear", f"{PAGE}/preview"):
        assert post(client, path, {"message": "mine", "enabled": "on"}).status_code == 403
    assert banner_of(client.get("/").text) is None
