"""Changing one's own name and password through the API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import Account, Factory
from tests.webclient import session_csrf

NEW_PASSWORD = "Brand-new-pass-9"


def bearer(client: TestClient, account: Account, password: str | None = None) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/login",
        json={"email": account.email, "password": password or account.password},
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def name_of(client: TestClient, headers: dict[str, str]) -> str:
    name: str = client.get("/api/v1/me", headers=headers).json()["user"]["full_name"]
    return name


def test_changing_the_name(client: TestClient, factory: Factory) -> None:
    headers = bearer(client, factory.user(full_name="Ada Lovelace"))
    response = client.patch("/api/v1/me", json={"full_name": "  Ada King "}, headers=headers)
    assert response.status_code == 200
    assert response.json()["user"]["full_name"] == "Ada King"
    assert name_of(client, headers) == "Ada King"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"full_name": "x" * 65}, "The full name can have at most 64 characters."),
        ({"full_name": ""}, "Enter your full name (1 to 64 characters)."),
        ({"full_name": " \t "}, "Enter your full name (1 to 64 characters)."),
        ({}, "The request is not valid."),
        ({"full_name": 7}, "The request is not valid."),
        ({"full_name": "Ada\x00"}, "The request is not valid."),
    ],
)
def test_bad_names_get_422_and_change_nothing(
    client: TestClient, factory: Factory, body: dict[str, Any], message: str
) -> None:
    headers = bearer(client, factory.user(full_name="Ada Lovelace"))
    response = client.patch("/api/v1/me", json=body, headers=headers)
    assert response.status_code == 422
    assert error(response)["code"] == "invalid_input"
    assert error(response)["message"] == message
    assert name_of(client, headers) == "Ada Lovelace"


def test_a_name_change_through_a_session_cookie_needs_the_csrf_header(
    client: TestClient, factory: Factory
) -> None:
    account = factory.user(full_name="Ada Lovelace")
    factory.web_login(client, account)
    refused = client.patch("/api/v1/me", json={"full_name": "Mallory"})
    assert refused.status_code == 403
    assert error(refused)["code"] == "csrf_failed"
    headers = {"X-CSRF-Token": session_csrf(client)}
    assert client.patch("/api/v1/me", json={"full_name": "Ada"}, headers=headers).status_code == 200
    assert client.get("/api/v1/me").json()["user"]["full_name"] == "Ada"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"current_password": "Wrong-pass-1", "new_password": NEW_PASSWORD},
            "current_password",
            "The original password is not correct.",
        ),
        (
            {"current_password": "", "new_password": NEW_PASSWORD},
            "current_password",
            "Enter your original password to change it.",
        ),
        (
            {"current_password": "correct-Horse-7", "new_password": "short1-"},
            "new_password",
            "The password must have 8 to 256 characters.",
        ),
        (
            {"current_password": "correct-Horse-7", "new_password": "onlyletters"},
            "new_password",
            "The password needs at least one letter, one digit and one symbol.",
        ),
        (
            {"current_password": "correct-Horse-7", "new_password": ""},
            "new_password",
            "Enter the new password.",
        ),
    ],
)
def test_a_refused_password_change_keeps_everything(
    client: TestClient, factory: Factory, body: dict[str, str], field: str, message: str
) -> None:
    account = factory.user()
    headers = bearer(client, account)
    response = client.post("/api/v1/me/password", json=body, headers=headers)
    assert response.status_code == 422
    assert error(response)["message"] == message
    assert error(response)["details"] == {"field": field}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    bearer(client, account)  # the old password still works


@pytest.mark.parametrize(
    "body",
    [{}, {"current_password": "x"}, {"current_password": 1, "new_password": 2}, []],
)
def test_malformed_password_bodies_get_422(client: TestClient, factory: Factory, body: Any) -> None:
    headers = bearer(client, factory.user())
    response = client.post("/api/v1/me/password", json=body, headers=headers)
    assert response.status_code == 422
    assert error(response)["message"] == "The request is not valid."


@pytest.mark.db
def test_a_password_change_revokes_every_token_and_web_session(
    app: FastAPI, client: TestClient, factory: Factory
) -> None:
    account = factory.user()
    caller, other = bearer(client, account), bearer(client, account)
    with TestClient(app) as browser:
        factory.web_login(browser, account)
        response = client.post(
            "/api/v1/me/password",
            json={"current_password": account.password, "new_password": NEW_PASSWORD},
            headers=caller,
        )
        assert response.status_code == 200
        assert response.json()["web_sessions_ended"] == 1
        assert response.json()["api_tokens_revoked"] == 2
        assert browser.get("/", follow_redirects=False).headers["location"] == "/login"
    for headers in (caller, other):
        gone = client.get("/api/v1/me", headers=headers)
        assert gone.status_code == 401
        assert error(gone)["message"] == "The API token is invalid or has expired."
    assert (
        client.post(
            "/api/v1/auth/login", json={"email": account.email, "password": account.password}
        ).status_code
        == 401
    )
    bearer(client, account, NEW_PASSWORD)


def test_a_password_change_from_a_session_keeps_that_session(
    app: FastAPI, client: TestClient, factory: Factory
) -> None:
    account = factory.user()
    with TestClient(app) as cli:
        token = bearer(cli, account)
    factory.web_login(client, account)
    response = client.post(
        "/api/v1/me/password",
        json={"current_password": account.password, "new_password": NEW_PASSWORD},
        headers={"X-CSRF-Token": session_csrf(client)},
    )
    assert response.status_code == 200
    assert response.json() == {
        "message": "The password has been changed. Log in again with the new password.",
        "web_sessions_ended": 0,
        "api_tokens_revoked": 1,
    }
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me", headers=token).status_code == 401


@pytest.mark.db
def test_guessing_the_current_password_is_throttled(
    app: FastAPI, client: TestClient, factory: Factory
) -> None:
    account = factory.user()
    headers = bearer(client, account)
    for attempt in range(app.state.settings.login_max_failures_per_account):
        wrong = {"current_password": f"Guess-{attempt}-x", "new_password": NEW_PASSWORD}
        assert client.post("/api/v1/me/password", json=wrong, headers=headers).status_code == 422
    right = {"current_password": account.password, "new_password": NEW_PASSWORD}
    response = client.post("/api/v1/me/password", json=right, headers=headers)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert error(response)["code"] == "throttled"
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # nothing changed


def test_anonymous_callers_are_refused(client: TestClient) -> None:
    assert client.patch("/api/v1/me", json={"full_name": "x"}).status_code == 401
    response = client.post(
        "/api/v1/me/password", json={"current_password": "a", "new_password": "b"}
    )
    assert response.status_code == 401
