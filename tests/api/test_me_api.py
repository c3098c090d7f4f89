"""The calling user and their current project through the API."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.factories import Account, Factory
from tests.webclient import session_csrf


def bearer(client: TestClient, account: Account) -> dict[str, str]:
    token = client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": account.password}
    ).json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.smoke
def test_switching_the_project_is_remembered(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    project = factory.project(members=(account.user,))
    headers = bearer(client, account)
    switched = client.put(
        "/api/v1/me/current-project", json={"project_id": str(project.id)}, headers=headers
    )
    assert switched.status_code == 200
    assert switched.json()["current_project"]["name"] == project.name
    assert client.get("/api/v1/me", headers=headers).json()["current_project"]["id"] == str(
        project.id
    )
    listed = client.get("/api/v1/projects", headers=headers).json()
    assert listed["count"] == 2
    assert sorted(p["name"] for p in listed["data"]) == sorted(["default", project.name])


def test_a_project_one_is_not_in_cannot_be_chosen(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    foreign = factory.project(members=(factory.user().user,))
    headers = bearer(client, account)
    for project_id in (str(foreign.id), str(uuid.uuid4())):
        response = client.put(
            "/api/v1/me/current-project", json={"project_id": project_id}, headers=headers
        )
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "No such project."
    assert client.get("/api/v1/me", headers=headers).json()["current_project"]["name"] == "default"


def test_malformed_project_ids_get_422(client: TestClient, factory: Factory) -> None:
    headers = bearer(client, factory.user())
    for body in ({"project_id": "not-a-uuid"}, {}, {"project_id": 7}):
        response = client.put("/api/v1/me/current-project", json=body, headers=headers)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_input"


def test_cookie_sessions_need_the_csrf_header_for_api_writes(
    client: TestClient, factory: Factory
) -> None:
    account = factory.user()
    project = factory.project(members=(account.user,))
    factory.web_login(client, account)
    body = {"project_id": str(project.id)}
    refused = client.put("/api/v1/me/current-project", json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    assert client.get("/api/v1/me").json()["current_project"]["name"] == "default"
    accepted = client.put(
        "/api/v1/me/current-project", json=body, headers={"X-CSRF-Token": session_csrf(client)}
    )
    assert accepted.status_code == 200
