"""Switching the current project from the top bar."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.factories import Factory
from tests.webclient import session_csrf


def test_switching_answers_htmx_with_the_selector_and_an_event(
    client: TestClient, factory: Factory
) -> None:
    account = factory.user()
    project = factory.project(members=(account.user,), description="Deep learning lab")
    factory.web_login(client, account)
    token = session_csrf(client)
    response = client.post(
        "/current-project",
        data={"project_id": str(project.id)},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<form id="project-selector"')
    assert f'<option value="{project.id}" selected>' in response.text
    event = json.loads(response.headers["HX-Trigger"])
    assert event == {"shipyard:project-changed": {"id": str(project.id)}}
    fragment = client.get("/", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith('<section id="summary-project"')
    assert project.name in fragment
    assert "Deep learning lab" in fragment


def test_the_choice_is_remembered_across_logins(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    project = factory.project(members=(account.user,))
    factory.web_login(client, account)
    token = session_csrf(client)
    client.post("/current-project", data={"project_id": str(project.id), "csrf_token": token})
    client.cookies.clear()
    factory.web_login(client, account)
    assert f'<option value="{project.id}" selected>' in client.get("/").text


def test_foreign_or_malformed_projects_are_refused(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    foreign = factory.project()
    factory.web_login(client, account)
    token = session_csrf(client)
    for value, status in ((str(foreign.id), 404), ("nope", 422), ("", 422)):
        response = client.post("/current-project", data={"project_id": value, "csrf_token": token})
        assert response.status_code == status
    assert 'data-testid="current-project-name">default<' in client.get("/").text


def test_switching_without_csrf_token_is_refused(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    project = factory.project(members=(account.user,))
    factory.web_login(client, account)
    response = client.post(
        "/current-project", data={"project_id": str(project.id)}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 403
    assert "shipyard:error" in response.headers["HX-Trigger"]
    assert 'data-testid="current-project-name">default<' in client.get("/").text
