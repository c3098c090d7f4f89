"""The authorization matrix: every admin route, console and API, for every kind of caller.

The walk finds the routes itself (as tests/web/test_csrf_everywhere.py does), so admin routes
added later are covered without touching this file. Path parameters get a made-up id; a
route that let a normal user through would answer something other than 403 (404, 422, 200)
and the database would be checked for changes as well. /metrics is protected differently
(a token or an allow-list) and has tests of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.auth.models import ApiToken, WebSession
from shipyard.db import Database
from shipyard.models import Base
from tests.api.test_sessions_api import bearer
from tests.factories import Factory
from tests.web.test_csrf_everywhere import concrete
from tests.webclient import session_csrf

API_ADMIN = "/api/v1/admin"
CONSOLE_ADMIN = "/admin"
SKIPPED = {"/metrics"}
KNOWN_AREAS = (
    "users",
    "sessions",
    "projects",
    "policies",
    "agents",
    "resource-groups",
    "environments",
    "tasks",
    "announcement",
    "audit",
)
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Rows that reading pages may touch (a session's or a token's last use), not admin state.
VOLATILE = {WebSession.__tablename__, ApiToken.__tablename__}


def walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods or ()):
                yield method, prefix + route.path
        included = getattr(route, "original_router", None)  # newer FastAPI includes lazily
        if included is not None:
            yield from walk(included.routes, prefix + route.include_context.prefix)


def is_admin_path(path: str) -> bool:
    return any(path == root or path.startswith(f"{root}/") for root in (CONSOLE_ADMIN, API_ADMIN))


def admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = {(m, p) for m, p in walk(app.routes) if is_admin_path(p) and p not in SKIPPED}
    return sorted(found, key=lambda route: (route[1], route[0]))


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    """One request with a small body of the kind the route takes (form or JSON)."""
    body: dict[str, Any] = {}
    if method in UNSAFE:
        body = {"json": {"name": "x"}} if path.startswith("/api/") else {"data": {"name": "x"}}
    return client.request(method, concrete(path), headers=headers, follow_redirects=False, **body)


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but the volatile ones), to prove that nothing changed."""
    with database.session() as db:
        return {
            table.name: sorted(map(tuple, db.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
            if table.name not in VOLATILE
        }


@pytest.fixture
def world(factory: Factory) -> None:
    """Something for admin routes to act on, were they to let the wrong caller through."""
    victim = factory.user()
    factory.project(members=(victim.user,))
    factory.user_policy(victim.user, max_sessions=3)
    factory.agent()
    factory.folder(victim.user)


def test_the_walk_sees_every_admin_area(app: FastAPI) -> None:
    paths = {path for _method, path in admin_routes(app)}
    for area in KNOWN_AREAS:
        assert any(f"/admin/{area}" in path for path in paths), f"no admin route for {area}"
    assert any(path.startswith(API_ADMIN) for path in paths)
    assert any(path.startswith(f"{CONSOLE_ADMIN}/") for path in paths)
    assert ("GET", CONSOLE_ADMIN) in admin_routes(app)


@pytest.mark.usefixtures("world")
def test_a_normal_user_with_a_session_is_refused_everywhere(
    client: TestClient, app: FastAPI, factory: Factory, database: Database
) -> None:
    account = factory.user()
    factory.web_login(client, account)
    token = session_csrf(client)
    before = snapshot(database)
    wrong = []
    for method, path in admin_routes(app):
        response = call(client, method, path, {"X-CSRF-Token": token})
        if path.startswith("/api/"):
            refused = response.status_code == 403 and response.json()["error"]["code"] == (
                "permission_denied"
            )
        else:
            refused = response.status_code == 403 and "Not allowed" in response.text
        if not refused:
            wrong.append(f"{method} {path}: {response.status_code}")
    assert wrong == []
    assert snapshot(database) == before
    assert client.get("/").status_code == 200  # still logged in: the refusals ended nothing


@pytest.mark.usefixtures("world")
def test_a_normal_user_with_an_api_token_is_refused_everywhere(
    client: TestClient, app: FastAPI, factory: Factory, database: Database
) -> None:
    headers = bearer(client, factory.user())
    before = snapshot(database)
    wrong = []
    for method, path in admin_routes(app):
        response = call(client, method, path, headers)
        if path.startswith("/api/"):
            refused = response.status_code == 403
        else:  # the console takes no tokens: the caller is anonymous there
            refused = (
                response.status_code in (303, 403)
                and "/admin" not in response.headers.get("location", "/login").split("?")[0]
            )
        if not refused:
            wrong.append(f"{method} {path}: {response.status_code}")
    assert wrong == []
    assert snapshot(database) == before


@pytest.mark.usefixtures("world")
def test_anonymous_callers_are_sent_to_log_in(
    client: TestClient, app: FastAPI, database: Database
) -> None:
    client.get("/login")  # the anonymous CSRF cookie, so that unsafe requests pass that check
    token = client.cookies.get("shipyard_csrf") or ""
    before = snapshot(database)
    wrong = []
    for method, path in admin_routes(app):
        response = call(client, method, path, {"X-CSRF-Token": token})
        if path.startswith("/api/"):
            refused = response.status_code == 401
        else:
            location = response.headers.get("location", "")
            refused = response.status_code == 303 and location.startswith("/login")
        if not refused:
            wrong.append(f"{method} {path}: {response.status_code}")
    assert wrong == []
    assert snapshot(database) == before


@pytest.mark.usefixtures("world")
def test_an_admin_is_never_refused(client: TestClient, app: FastAPI, factory: Factory) -> None:
    account = factory.admin()
    factory.web_login(client, account)
    token = session_csrf(client)
    wrong = []
    for method, path in admin_routes(app):
        response = call(client, method, path, {"X-CSRF-Token": token})
        if response.status_code in (401, 403) or response.status_code >= 500:
            wrong.append(f"{method} {path}: {response.status_code}")
    assert wrong == []


def test_normal_users_see_no_way_into_administration(
    client: TestClient, app: FastAPI, factory: Factory
) -> None:
    account = factory.user()
    factory.web_login(client, account)
    refused = client.get(CONSOLE_ADMIN)
    assert refused.status_code == 403
    assert "Not allowed" in refused.text
    pages = [
        path
        for method, path in walk(app.routes)
        if method == "GET"
        and "{" not in path
        and not path.startswith(("/api", "/admin", "/static"))
        and path not in SKIPPED
    ]
    assert "/" in pages
    assert len(pages) >= 5
    shown = 0
    for path in pages:
        response = client.get(path)
        if response.status_code == 200 and "text/html" in response.headers["content-type"]:
            shown += 1
            assert not re.search(r'href="/admin', response.text), path
    assert shown >= 5


def test_an_admin_sees_the_administration_menu(client: TestClient, factory: Factory) -> None:
    account = factory.admin()
    factory.web_login(client, account)
    assert 'href="/admin"' in client.get("/").text
