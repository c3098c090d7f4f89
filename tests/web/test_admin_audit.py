"""The console's audit log: what an admin sees, filters in the URL, pages, CSV, refusals."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from shipyard.audit.models import Action
from shipyard.db import Database
from tests.api.audit_helpers import BASE_TIME, entries, seed
from tests.factories import Factory
from tests.querycount import QueryCounter
from tests.webclient import login, page_csrf

PAGE = "/admin/audit"
HTMX = {"HX-Request": "true"}


def as_admin(client: TestClient, factory: Factory) -> None:
    account = factory.admin()
    factory.web_login(client, account)


def row_count(html: str) -> int:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.count("<tr>") - ("No entries match" in body)


def test_the_page_shows_who_did_what_to_whom_and_from_where(
    client: TestClient, factory: Factory, database: Database
) -> None:
    seed(
        database,
        1,
        action="user.role_change",
        actor_email="boss@example.org",
        target_type="user",
        target_label="ann@example.org",
        client_address="10.0.0.7",
        details={"from": "user", "to": "admin"},
    )
    seed(
        database,
        1,
        action="auth.login_failed",
        actor_email="",
        success=False,
        start=BASE_TIME + timedelta(hours=1),
    )
    seed(database, 1, action="plugin.future_thing", start=BASE_TIME + timedelta(hours=2))
    as_admin(client, factory)
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.text
    for header in ("When", "Who", "Action", "Target", "From", "Result", "Details"):
        assert f'<th scope="col">{header}</th>' in html
    assert "Changed a user&#39;s role" in html
    assert "ann<wbr>@example.org" in html
    assert "10.0.0.7" in html
    assert "from:</span> user" in html
    assert "to:</span> admin" in html
    assert "Failed login" in html
    assert 'class="badge bg-danger-lt">Failed' in html
    assert "plugin.future_thing" in html  # an action this version does not know shows raw
    assert 'title="2024-05-01 12:00:00 UTC"' in html
    assert '<span class="visually-hidden">nobody</span>' in html  # a failure without an actor


def test_console_login_logout_and_a_failed_login_are_logged(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    assert login(client, account.email, "wrong-Password-1").status_code == 401
    assert login(client, account.email, account.password).status_code == 303
    csrf = page_csrf(client)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code in (200, 303)
    logged = [(e.action, e.actor_email, e.success) for e in reversed(entries(database))]
    assert logged == [
        (Action.LOGIN_FAILED, account.email, False),
        (Action.LOGIN, account.email, True),
        (Action.LOGOUT, account.email, True),
    ]
    assert {e.client_address for e in entries(database)} == {"testclient"}


def test_filters_live_in_the_url_and_stay_in_the_form(
    client: TestClient, factory: Factory, database: Database
) -> None:
    seed(database, 3, action="project.create", actor_email="pat@example.org")
    seed(database, 2, action="policy.update", actor_email="pat@example.org")
    as_admin(client, factory)
    html = client.get(PAGE, params={"action": "project.create", "actor": "pat"}).text
    assert row_count(html) == 3
    assert '<option value="project.create" selected>' in html
    assert 'name="actor" value="pat"' in html
    assert "3 entries" in html
    assert 'href="/admin/audit.csv?actor=pat&amp;action=project.create"' in html
    family = client.get(PAGE, params={"action": "policy.*"}).text
    assert row_count(family) == 2
    assert '<option value="policy.*" selected>' in family


def test_an_htmx_refresh_gets_only_the_results(
    client: TestClient, factory: Factory, database: Database
) -> None:
    seed(database, 2, action="group.create")
    as_admin(client, factory)
    fragment = client.get(PAGE, params={"action": "group.create"}, headers=HTMX)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section class="card" id="audit-results"')
    assert "<html" not in fragment.text
    assert row_count(fragment.text) == 2


@pytest.mark.db
def test_pages_keep_the_filter(client: TestClient, factory: Factory, database: Database) -> None:
    seed(database, 120, action="agent.move")
    as_admin(client, factory)
    first = client.get(PAGE, params={"action": "agent.move"}).text
    assert row_count(first) == 50
    assert "Page 1 of 3" in first
    assert 'href="/admin/audit?action=agent.move&amp;page=2"' in first
    last = client.get(PAGE, params={"action": "agent.move", "page": "3"}).text
    assert row_count(last) == 20
    assert "Page 3 of 3" in last
    assert "2024-05-01 12:19 UTC" in last
    assert "2024-05-01 12:20 UTC" not in last
    odd = client.get(PAGE, params={"action": "agent.move", "page": "x"})
    assert odd.status_code == 200
    assert "Page 1 of 3" in odd.text


def test_a_bad_filter_is_explained_and_shows_nothing(
    client: TestClient, factory: Factory, database: Database
) -> None:
    seed(database, 2)
    as_admin(client, factory)
    for params, message in (
        ({"since": "2024-13-45"}, "Enter days as YYYY-MM-DD."),
        ({"since": "2024-05-03", "until": "2024-05-01"}, "The first day comes after the last."),
        ({"action": "<script>"}, "Pick an action from the list."),
    ):
        page = client.get(PAGE, params=params)
        assert page.status_code == 200
        assert f'role="alert">{message}</div>' in page.text
        assert row_count(page.text) == 0
        assert client.get("/admin/audit.csv", params=params).status_code == 422


def test_the_csv_download_follows_the_filter(
    client: TestClient, factory: Factory, database: Database
) -> None:
    seed(database, 2, action="announcement.set", actor_email="Ünal@example.org")
    seed(database, 3, action="user.create")
    as_admin(client, factory)
    answer = client.get("/admin/audit.csv", params={"action": "announcement.*"})
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith('attachment; filename="shipyard-audit-')
    rows = list(csv.DictReader(io.StringIO(answer.text.removeprefix("\ufeff"))))
    assert [(row["actor"], row["action"]) for row in rows] == [
        ("Ünal@example.org", "announcement.set")
    ] * 2


def test_a_page_costs_the_same_statements_with_more_entries(
    client: TestClient, factory: Factory, database: Database, queries: QueryCounter
) -> None:
    seed(database, 5)
    as_admin(client, factory)
    client.get(PAGE)
    queries.reset()
    client.get(PAGE, params={"actor": "root"})
    few = queries.count
    seed(database, 300, details={"a": 1, "b": 2, "c": 3})
    queries.reset()
    html = client.get(PAGE, params={"actor": "root"}).text
    assert queries.count == few
    assert "<details>" in html  # more than two details: the rest opens on demand


def test_normal_users_get_the_403_page(
    client: TestClient, factory: Factory, database: Database
) -> None:
    seed(database, 1, actor_email="secret-admin@example.org")
    account = factory.user()
    factory.web_login(client, account)
    for path in (PAGE, "/admin/audit.csv"):
        refused = client.get(path)
        assert refused.status_code == 403
        assert "Not allowed" in refused.text
        assert "secret-admin@example.org" not in refused.text
    assert not re.search(r'href="/admin', client.get("/").text)
