"""The console shell: top bar, user menu pages, preferences, languages, security headers."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from shipyard import __version__
from shipyard.agents.models import Agent
from shipyard.db import Database
from tests.factories import Account, Factory
from tests.querycount import QueryCounter
from tests.webclient import csrf_of, session_csrf

PAGES = ["/", "/account", "/preferences", "/logs"]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


@pytest.fixture
def account(client: TestClient, factory: Factory) -> Account:
    account = factory.user(full_name="Ada Lovelace")
    factory.web_login(client, account)
    return account


@pytest.mark.smoke
@pytest.mark.parametrize("path", PAGES)
def test_pages_carry_the_top_bar_and_no_inline_script(
    client: TestClient, account: Account, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.text
    assert '<span class="visually-hidden">User menu: </span>' in html
    assert 'aria-label="Log out"' in html
    assert '<label for="project-select"' in html
    for item in ("About", "My Account", "Preferences", "Logs / Errors", "Log Out"):
        assert f"> {item}</" in html, item
    assert __version__ in html
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"


def test_login_page_has_no_inline_script(client: TestClient) -> None:
    html = client.get("/login").text
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html)


def test_my_account_shows_who_is_logged_in(client: TestClient, account: Account) -> None:
    html = client.get("/account").text
    assert "Ada Lovelace" in html
    assert account.email in html
    assert ">User<" in html


def test_user_text_is_escaped(client: TestClient, factory: Factory) -> None:
    account = factory.user(full_name="<script>alert(1)</script>")
    factory.web_login(client, account)
    html = client.get("/account").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_preferences_save_language_and_theme(client: TestClient, account: Account) -> None:
    token = session_csrf(client)
    saved = client.post(
        "/preferences",
        data={"language": "ko", "theme": "dark", "csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "shipyard_lang=ko" in saved.headers["set-cookie"]
    client.cookies.delete("shipyard_lang")
    page = client.get("/preferences")
    assert '<html lang="ko" data-bs-theme="dark"' in page.text
    assert "환경 설정" in page.text


@pytest.mark.parametrize(
    "data", [{"language": "xx", "theme": "dark"}, {"language": "ko", "theme": "neon"}, {}]
)
def test_bad_preferences_are_refused_and_change_nothing(
    client: TestClient, account: Account, data: dict[str, str]
) -> None:
    token = session_csrf(client)
    response = client.post("/preferences", data={**data, "csrf_token": token})
    assert response.status_code == 422
    assert "Choose a" in response.text
    page = client.get("/preferences").text
    assert '<html lang="en" data-bs-theme="light" data-theme-preference="system"' in page


def test_preferences_without_csrf_token_are_refused(client: TestClient, account: Account) -> None:
    response = client.post("/preferences", data={"language": "ko", "theme": "dark"})
    assert response.status_code == 403
    assert 'data-theme-preference="system"' in client.get("/preferences").text


def test_browser_language_is_used_until_one_is_chosen(client: TestClient) -> None:
    korean = client.get("/login", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert '<html lang="ko"' in korean.text
    assert "로그인" in korean.text
    token = csrf_of(korean.text)
    client.post("/language", data={"language": "en", "csrf_token": token, "next": "/login"})
    english = client.get("/login", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert '<html lang="en"' in english.text
    assert "Log in to your account" in english.text


def test_unknown_pages_get_a_friendly_404(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Traceback" not in response.text


def test_summary_statements_do_not_grow_with_projects(
    client: TestClient, account: Account, factory: Factory, queries: QueryCounter
) -> None:
    client.get("/")
    queries.reset()
    client.get("/")
    few = queries.count
    for _ in range(25):
        factory.project(members=(account.user,))
    client.get("/")
    queries.reset()
    page = client.get("/")
    assert queries.count == few
    selector = page.text.split('id="project-select"', 1)[1].split("</select>", 1)[0]
    assert selector.count("<option ") == 26


def test_admins_are_warned_about_unsandboxed_agents(
    client: TestClient, factory: Factory, database: Database
) -> None:
    agent = factory.agent()
    with database.session() as db:
        found = db.get(Agent, agent.id)
        assert found is not None
        found.enforcement = {"sandbox": "none", "cgroups": "none", "rlimits": True}
        db.commit()
    admin = factory.admin()
    factory.web_login(client, admin)
    page = client.get("/").text
    assert f"Agent {agent.id} runs sessions without a sandbox" in page
    assert f"Agent {agent.id} has no cgroups" in page
    client.cookies.clear()
    user = factory.user()
    factory.web_login(client, user)
    assert "without a sandbox" not in client.get("/").text
