"""Helpers that use the console the way a browser does: forms, cookies and CSRF tokens."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.auth import tokens
from shipyard.auth.models import WebSession
from shipyard.db import Database
from shipyard.http.principal import SESSION_COOKIE

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
# The jar's domain for cookies set by TestClient's host, `testserver` (a host without a dot).
COOKIE_DOMAIN = "testserver.local"


def csrf_of(html: str) -> str:
    match = CSRF_META.search(html)
    assert match, "page has no CSRF meta tag"
    return match.group(1)


def login(client: TestClient, email: str, password: str, *, next_path: str = "/") -> httpx.Response:
    """GET the login form, then POST it with its CSRF token; returns the POST's response."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "next": next_path,
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )


def page_csrf(client: TestClient, path: str = "/") -> str:
    """The session's CSRF token as the page at `path` carries it."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


def session_csrf(client: TestClient) -> str:
    """The CSRF token of the client's web session, read where the server reads it (its row),
    instead of loading a page to scrape it."""
    raw = client.cookies.get(SESSION_COOKIE)
    assert raw, "the client has no web session"
    database: Database = client.app.state.db  # type: ignore[attr-defined]
    with database.session() as db:
        token = db.scalar(
            select(WebSession.csrf_token).where(WebSession.token_hash == tokens.digest(raw))
        )
    assert token, "the client's web session has ended"
    return token


def set_cookie(client: TestClient, name: str, value: str) -> None:
    """A cookie as the server's Set-Cookie leaves it in the client's jar (so the server can
    replace or delete it later)."""
    client.cookies.set(name, value, domain=COOKIE_DOMAIN, path="/")
