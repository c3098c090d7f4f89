"""Logging in and out of the console: messages, throttling, session handling."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from shipyard.auth.models import WebSession
from shipyard.db import Database, utcnow
from tests.factories import Factory
from tests.webclient import csrf_of, login

SESSION = "shipyard_session"


def session_count(database: Database) -> int:
    with database.session() as db:
        return db.scalar(select(func.count()).select_from(WebSession)) or 0


@pytest.mark.smoke
def test_login_lands_on_the_summary_page(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    response = login(client, account.email, account.password)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie
    page = client.get("/")
    assert page.status_code == 200
    assert '<h1 class="page-title">Summary</h1>' in page.text


def test_session_cookie_is_secure_under_https(app: FastAPI, factory: Factory) -> None:
    account = factory.user()
    with TestClient(app, base_url="https://testserver") as client:
        response = login(client, account.email, account.password)
    assert "Secure" in response.headers["set-cookie"]


def test_wrong_password_and_unknown_email_read_the_same(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    wrong = login(client, account.email, "Wrong-password-1")
    unknown = login(client, "nobody@example.org", "Wrong-password-1")
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert "Incorrect email or password." in response.text
        assert SESSION not in response.headers.get("set-cookie", "")
    assert session_count(database) == 0


def test_empty_fields_are_asked_for(client: TestClient) -> None:
    response = login(client, "", "")
    assert response.status_code == 422
    assert "Enter your email and password." in response.text


@pytest.mark.db
def test_repeated_failures_are_throttled(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    for _ in range(5):
        assert login(client, account.email, "Wrong-password-1").status_code == 401
    throttled = login(client, account.email, account.password)
    assert throttled.status_code == 429
    assert "Too many failed login attempts. Try again in 1 minute." in throttled.text
    assert 0 < int(throttled.headers["Retry-After"]) <= 30


def test_login_without_or_with_a_wrong_csrf_token_is_refused(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    client.get("/login")
    form = {"email": account.email, "password": account.password}
    for token in (None, "forged-token"):
        data = form if token is None else {**form, "csrf_token": token}
        response = client.post("/login", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "This form has expired" in response.text
    assert session_count(database) == 0


@pytest.mark.db
def test_login_issues_a_new_session_id_and_ends_the_old_one(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    first = login(client, account.email, account.password).cookies[SESSION]
    second = login(client, account.email, account.password).cookies[SESSION]
    assert first != second
    assert session_count(database) == 1
    client.cookies.set(SESSION, first)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_planted_session_cookie_is_not_adopted(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    client.cookies.set(SESSION, "attacker-chosen")
    issued = login(client, account.email, account.password).cookies[SESSION]
    assert issued != "attacker-chosen"


@pytest.mark.smoke
def test_logout_invalidates_the_session_on_the_server(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    raw = login(client, account.email, account.password).cookies[SESSION]
    token = csrf_of(client.get("/").text)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert session_count(database) == 0
    client.cookies.set(SESSION, raw)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_logout_without_csrf_token_changes_nothing(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    login(client, account.email, account.password)
    for data in ({}, {"csrf_token": "wrong"}):
        assert client.post("/logout", data=data, follow_redirects=False).status_code == 403
    assert session_count(database) == 1
    assert client.get("/").status_code == 200


@pytest.mark.db
@pytest.mark.parametrize(
    ("field", "delta"),
    [("last_seen_at", timedelta(minutes=241)), ("expires_at", timedelta(hours=0))],
)
def test_idle_and_absolute_expiry_end_the_session(
    client: TestClient, factory: Factory, database: Database, field: str, delta: timedelta
) -> None:
    account = factory.user()
    login(client, account.email, account.password)
    with database.session() as db:
        db.execute(update(WebSession).values({field: utcnow() - delta}))
        db.commit()
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert session_count(database) == 0


def test_anonymous_visitors_are_sent_to_login_and_back(
    client: TestClient, factory: Factory
) -> None:
    account = factory.user()
    response = client.get("/account", follow_redirects=False)
    assert response.headers["location"] == "/login?next=/account"
    back = login(client, account.email, account.password, next_path="/account")
    assert back.headers["location"] == "/account"


@pytest.mark.parametrize(
    "target", ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)"]
)
def test_login_never_redirects_off_site(client: TestClient, factory: Factory, target: str) -> None:
    account = factory.user()
    assert (
        login(client, account.email, account.password, next_path=target).headers["location"] == "/"
    )


def test_htmx_requests_without_a_session_change_nothing_and_say_logged_out(
    client: TestClient,
) -> None:
    response = client.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert "HX-Redirect" not in response.headers
    assert response.headers["HX-Reswap"] == "none"
    event = json.loads(response.headers["HX-Trigger"])["shipyard:logged-out"]
    assert event["message"] == "You have been logged out. Log in again to continue."


def test_a_logged_in_visitor_skips_the_login_page(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    login(client, account.email, account.password)
    assert client.get("/login", follow_redirects=False).headers["location"] == "/"
