"""The maintenance console page: start tasks, watch progress, see drifts and history."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shipyard.db import Database
from tests.factories import Account, Factory
from tests.maintenance_helpers import Gate, busy, corrupt, install_gate, wait_until
from tests.querycount import QueryCounter
from tests.webclient import session_csrf

PAGE = "/admin/maintenance"
HTMX = {"HX-Request": "true"}
TASK_ID = re.compile(r'id="task-([0-9a-f-]{36})"')
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> Account:
    account = factory.admin()
    factory.web_login(client, account)
    return account


def start(client: TestClient, kind: str, *, htmx: bool = True) -> httpx.Response:
    token = session_csrf(client)
    response: httpx.Response = client.post(
        f"{PAGE}/tasks",
        data={"kind": kind, "csrf_token": token},
        headers=HTMX if htmx else {},
        follow_redirects=False,
    )
    return response


def task_of(response: httpx.Response) -> str:
    """The id of the task a card shows."""
    match = TASK_ID.search(response.text)
    assert match, response.text
    return match.group(1)


def card_until_done(client: TestClient, task_id: str) -> str:
    """Poll the card as htmx does until it stops asking to be polled."""
    card: str = wait_until(
        lambda: {"html": client.get(f"{PAGE}/tasks/{task_id}", headers=HTMX).text},
        done=lambda found: 'hx-trigger="every 1s"' not in found["html"],
    )["html"]
    return card


def test_the_page_explains_both_tasks(client: TestClient, admin: Account) -> None:
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.text
    assert "Recalculate usage" in html
    assert "Rescan environments" in html
    assert "No maintenance task has run yet." in html
    assert html.count('name="csrf_token"') >= 2
    assert not INLINE_SCRIPT.search(html)
    assert not STYLE_ATTRIBUTE.search(html)


@pytest.mark.smoke
def test_recalculate_from_the_console_shows_the_drifts(
    client: TestClient, admin: Account, factory: Factory, database: Database
) -> None:
    world = busy(factory, database)
    corrupt(database, world)
    started = start(client, "recalculate_usage")
    assert started.status_code == 200
    assert "shipyard:tasks-changed" in started.headers["hx-trigger"]
    card = card_until_done(client, task_of(started))
    assert "Corrected 3 drifts" in card
    assert world.alice.email in card
    assert "8" in card
    assert "4 GiB" in card  # the agent's memory row that was deleted, shown for people
    assert 'role="progressbar"' not in card  # done: no bar, no polling

    page = client.get(PAGE).text  # a reload shows the same result (it lives in the DB)
    assert "Corrected 3 drifts" in page
    assert "Succeeded" in page
    again = card_until_done(client, task_of(start(client, "recalculate_usage")))
    assert "No drift: the ledger matched the sessions." in again


def test_a_running_task_polls_and_survives_a_reload(
    client: TestClient, admin: Account, app: FastAPI, database: Database
) -> None:
    gate = Gate()
    install_gate(app, database, gate)
    started = start(client, "rescan_environments")
    assert gate.reached.wait(30)
    page = client.get(PAGE).text
    assert 'role="progressbar"' in page
    assert 'aria-valuenow="50"' in page
    assert 'hx-trigger="every 1s"' in page
    assert "Running" in page
    assert re.search(r"<button[^>]*disabled[^>]*>[^<]*<svg", page)  # its start button waits

    again = start(client, "rescan_environments")
    assert again.status_code == 200
    assert "already running" in again.text
    assert "See the running task" in again.text

    gate.opened.set()
    card = card_until_done(client, task_of(started))
    assert "gated-env" in card
    assert "Succeeded" in card


def test_a_plain_form_start_redirects_and_a_conflict_is_a_page(
    client: TestClient, admin: Account, app: FastAPI, database: Database
) -> None:
    gate = Gate()
    install_gate(app, database, gate)
    started = start(client, "rescan_environments", htmx=False)
    assert started.status_code == 303
    assert started.headers["location"].startswith("/admin/maintenance#task-")
    assert gate.reached.wait(30)
    refused = start(client, "rescan_environments", htmx=False)
    assert refused.status_code == 409
    assert "already running" in refused.text
    gate.opened.set()
    app.state.task_runner.join(30)


def test_history_lists_recent_tasks(client: TestClient, admin: Account) -> None:
    for kind in ("rescan_environments", "recalculate_usage"):
        card_until_done(client, task_of(start(client, kind)))
    history = client.get(f"{PAGE}/history", headers=HTMX).text
    assert history.count("Succeeded") == 2
    assert admin.email in history


def test_bad_input_is_refused(client: TestClient, admin: Account) -> None:
    assert start(client, "format_disk").status_code == 422
    assert client.get(f"{PAGE}/tasks/not-a-uuid").status_code == 422
    missing = client.get(f"{PAGE}/tasks/00000000-0000-0000-0000-000000000000", headers=HTMX)
    assert missing.status_code == 404


def test_page_statements_do_not_grow_with_history(
    client: TestClient, admin: Account, queries: QueryCounter
) -> None:
    card_until_done(client, task_of(start(client, "rescan_environments")))
    queries.reset()
    client.get(PAGE)
    few = queries.count
    for _round in range(3):
        for kind in ("rescan_environments", "recalculate_usage"):
            card_until_done(client, task_of(start(client, kind)))
    queries.reset()
    client.get(PAGE)
    assert queries.count == few


def test_normal_users_get_403(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    factory.web_login(client, account)
    token = session_csrf(client)
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}/history").status_code == 403
    assert client.get(f"{PAGE}/tasks/00000000-0000-0000-0000-000000000000").status_code == 403
    answer = client.post(f"{PAGE}/tasks", data={"kind": "recalculate_usage", "csrf_token": token})
    assert answer.status_code == 403
    assert "/admin/maintenance" not in client.get("/").text
