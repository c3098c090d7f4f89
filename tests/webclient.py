"""Helpers that use the console the way a browser does: forms, cookies and CSRF tokens."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


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
