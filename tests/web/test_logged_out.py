"""What a page whose web session has ended gets from the server: "logged out" (never "this form
has expired"), a way back to the page (not to a fragment), and nothing changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.db import Database
from shipyard.storage.models import Folder
from tests.factories import Account, Factory
from tests.webclient import csrf_of, login

NAVIGATE = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
LOGGED_OUT = "You have been logged out. Log in again to continue."


def logged_in_then_out(client: TestClient, factory: Factory) -> tuple[Account, str]:
    """A user who logged in, kept the page's CSRF token, and logged out (another tab)."""
    account = factory.user()
    token = factory.web_login(client, account)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 200
    client.get("/login")  # the login page of the other tab: an anonymous CSRF cookie
    return account, token


def folder_named(database: Database, account: Account, name: str) -> bool:
    with database.session() as db:
        query = select(Folder.id).where(Folder.owner_user_id == account.user.id)
        return db.scalar(query.where(Folder.name == name)) is not None


def test_a_dialog_sent_after_logging_out_says_logged_out_and_changes_nothing(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account, token = logged_in_then_out(client, factory)
    response = client.post(
        "/data/new",
        data={"name": "after-logout", "csrf_token": token},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/data?sort=name"},
    )
    assert response.status_code == 401
    assert "This form has expired" not in response.text
    assert response.headers["HX-Reswap"] == "none"
    event = json.loads(response.headers["HX-Trigger"])["shipyard:logged-out"]
    assert event["message"] == LOGGED_OUT
    assert event["action"] == "Log in again"
    assert not folder_named(database, account, "after-logout")


def test_a_plain_form_sent_after_logging_out_leads_to_login_and_back_to_its_page(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account, token = logged_in_then_out(client, factory)
    response = client.post(
        "/data/new",
        data={"name": "after-logout", "csrf_token": token},
        headers={"Referer": "http://testserver/data/new"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/data/new&reason=logged-out"
    login_page = client.get(response.headers["location"])
    assert LOGGED_OUT in login_page.text
    assert 'name="next" value="/data/new"' in login_page.text
    assert not folder_named(database, account, "after-logout")


def test_a_wrong_token_with_a_live_session_is_still_an_expired_form(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    factory.web_login(client, account)
    response = client.post(
        "/data/new", data={"name": "forged", "csrf_token": "forged"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert not folder_named(database, account, "forged")


def test_the_login_form_still_needs_its_token(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    client.get("/login")
    response = client.post(
        "/login", data={"email": account.email, "password": account.password, "csrf_token": "x"}
    )
    assert response.status_code == 403
    assert "This form has expired" in response.text


def test_the_page_to_come_back_to_keeps_its_own_query(client: TestClient, factory: Factory) -> None:
    account = factory.admin()
    page = "/admin/users?q=ada&page=2"
    to_login = client.get(page, follow_redirects=False)
    assert to_login.headers["location"] == "/login?next=/admin/users%3Fq%3Dada%26page%3D2"
    form = client.get(to_login.headers["location"])
    back = client.post(
        "/login",
        data={
            "email": account.email,
            "password": account.password,
            "next": "/admin/users?q=ada&page=2",
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert 'name="next" value="/admin/users?q=ada&amp;page=2"' in form.text
    assert back.headers["location"] == page


def test_logging_in_towards_a_fragment_lands_on_its_page(
    client: TestClient, factory: Factory
) -> None:
    account = factory.user()
    response = login(client, account.email, account.password, next_path="/summary/resources")
    assert response.headers["location"] == "/summary/resources"
    landed = client.get("/summary/resources", headers=NAVIGATE)
    assert landed.history[0].status_code == 303
    assert str(landed.url) == "http://testserver/"
    assert landed.text.lstrip().lower().startswith("<!doctype html>")
    assert '<h1 class="page-title">Summary</h1>' in landed.text


def test_a_fragment_is_still_served_to_htmx_and_scripts(
    client: TestClient, factory: Factory
) -> None:
    factory.web_login(client, factory.user())
    for headers in ({"HX-Request": "true"}, {}):
        response = client.get("/summary/resources", headers=headers, follow_redirects=False)
        assert response.status_code == 200
        assert 'id="summary-resources"' in response.text
        assert "<!doctype html>" not in response.text.lower()


def get_routes(routes: list[Any]) -> Iterator[str]:
    for route in routes:
        if isinstance(route, APIRoute) and "GET" in route.methods:
            yield route.path
        included = getattr(route, "original_router", None)
        if included is not None:
            prefixed = (route.include_context.prefix + path for path in get_routes(included.routes))
            yield from prefixed


def test_no_console_address_opened_as_a_page_shows_a_bare_fragment(
    client: TestClient, app: FastAPI, factory: Factory
) -> None:
    factory.web_login(client, factory.admin())
    paths = [
        path
        for path in get_routes(app.routes)
        if "{" not in path and not path.startswith(("/api", "/static", "/login"))
    ]
    assert len(paths) >= 20, "the walk should see the whole console"
    bare = []
    for path in paths:
        response = client.get(path, headers=NAVIGATE, follow_redirects=False)
        html = "text/html" in response.headers.get("content-type", "")
        page = response.text.lstrip().lower().startswith("<!doctype html>")
        if response.status_code == 200 and html and not page:
            bare.append(path)
    assert bare == []
