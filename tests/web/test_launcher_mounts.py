"""The launcher's Folders field, and the mounted folders on the Sessions pages."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from shipyard.agents.models import Agent
from shipyard.db import Database
from shipyard.storage.models import Perm
from tests.factories import Account, Factory
from tests.web.test_sessions_pages import HTMX, LAUNCH, count_sessions
from tests.webclient import session_csrf

CHECKBOX = re.compile(r'<input class="form-check-input" type="checkbox" name="mounts"[^>]*>')


@pytest.fixture
def agent(factory: Factory) -> Agent:
    return factory.agent(cpu="8", mem="16g")


@pytest.fixture
def account(client: TestClient, factory: Factory, agent: Agent) -> Account:
    account = factory.user()
    factory.web_login(client, account)
    return account


def offered(html: str) -> list[str]:
    """The folder ids the launcher offers as checkboxes, in order."""
    return re.findall(r'name="mounts" value="([^"]+)"', html)


def post(
    client: TestClient,
    path: str,
    data: dict[str, str | list[str]],
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST the launcher's form (with the CSRF token), ticked folders as repeated fields."""
    token = session_csrf(client)
    response: httpx.Response = client.post(
        path, data={**data, "csrf_token": token}, headers=headers
    )
    return response


def launcher(client: TestClient, **fields: str) -> str:
    return post(client, "/sessions/launcher", {**LAUNCH, **fields}, headers=HTMX).text


def test_without_folders_the_launcher_points_to_data_and_storage(
    client: TestClient, account: Account
) -> None:
    html = client.get("/sessions/launcher", headers=HTMX).text

    assert "You have no folders to mount." in html
    link = '<a href="/data" class="text-decoration-underline">Create one in Data & Storage</a>'
    assert link in html
    assert offered(html) == []


def test_the_launcher_offers_own_shared_and_this_projects_folders(
    client: TestClient, account: Account, factory: Factory
) -> None:
    own = factory.folder(account.user, name="data")
    friend = factory.user()
    shared = factory.folder(friend.user, name="models")
    factory.share(shared, friend.user, account, Perm.RO)
    owner = factory.admin()
    project = factory.project(members=(owner.user, account.user))
    team = factory.folder(owner.user, name="team", project=project.name)
    factory.folder(friend.user, name="private")

    in_default = launcher(client)
    in_project = launcher(client, project=str(project.id))

    assert offered(in_default) == [str(own.id), str(shared.id)]
    assert offered(in_project) == [str(own.id), str(shared.id), str(team.id)]
    models = in_project[in_project.index(f'value="{shared.id}"') :]
    assert re.match(r'[^<]*>\s*<span class="form-check-label">\s*<span[^>]*>models</span>', models)
    assert "read-only" in models[: models.index("</label>")]
    assert f"shared by {friend.email}" in models[: models.index("</label>")]
    teams = in_project[in_project.index(f'value="{team.id}"') :]
    assert "read-write" in teams[: teams.index("</label>")]
    assert f"project {project.name}" in teams[: teams.index("</label>")]
    assert "/home/work" in in_project


def test_ticked_folders_stay_ticked_when_the_launcher_is_redrawn(
    client: TestClient, account: Account, factory: Factory
) -> None:
    own = factory.folder(account.user, name="data")
    factory.folder(account.user, name="other")

    html = launcher(client, mounts=str(own.id))

    boxes = CHECKBOX.findall(html)
    assert [" checked" in box for box in boxes] == [True, False]


def test_a_session_started_with_folders_shows_them(
    client: TestClient, account: Account, factory: Factory
) -> None:
    own = factory.folder(account.user, name="data")
    friend = factory.user()
    shared = factory.folder(friend.user, name="models")
    factory.share(shared, friend.user, account, Perm.RO)

    form: dict[str, str | list[str]] = {**LAUNCH, "name": "with-folders"}
    response = post(client, "/sessions", {**form, "mounts": [str(own.id), str(shared.id)]})

    assert response.status_code == 200
    page = response.text
    mounts = page[page.index('data-testid="session-mounts"') :]
    mounts = mounts[: mounts.index("</ul>")]
    assert (
        f'<a href="/data/{own.id}" class="fw-medium">data</a> <code>/home/work/data</code></li>'
        in mounts
    )
    assert re.search(
        rf'href="/data/{shared.id}"[^>]*>models</a> <code>/home/work/models</code>'
        r" <span[^>]*>read-only<",
        mounts,
    )
    listing = client.get("/sessions").text
    assert "Folders: data, models (read-only)" in listing


def test_a_folder_that_cannot_be_mounted_is_refused_next_to_the_field(
    client: TestClient, account: Account, factory: Factory, database: Database
) -> None:
    hidden = factory.folder(factory.user().user, name="private")

    response = post(client, "/sessions", {**LAUNCH, "mounts": str(hidden.id)})

    assert response.status_code == 404
    assert re.search(r'id="launch-mounts-error"[^>]*>No such folder\.<', response.text)
    assert count_sessions(database) == 0


def test_too_many_folders_are_refused_next_to_the_field(
    client: TestClient, account: Account, database: Database
) -> None:
    refs = [f"folder-{index}" for index in range(33)]

    response = post(client, "/sessions", {**LAUNCH, "mounts": refs})

    assert response.status_code == 422
    assert re.search(
        r'id="launch-mounts-error"[^>]*>A session may mount at most 32 folders\.<', response.text
    )
    assert count_sessions(database) == 0
