"""The caller's preferences, personal API tokens and SSH keys through the API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shipyard.config import Settings
from tests.factories import Account, Factory
from tests.webclient import session_csrf

# A fixed id no row has: parametrised test ids must be the same in every xdist worker.
MISSING_ID = uuid.UUID(int=0xDEAD)

ED25519 = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlZjUtCmRszCrRUYzX4iWrmlLXnB002/tCU6TAL3qnb alice@laptop"
)
ED25519_FP = "SHA256:7DRcY934zSXs7Bn9yC21Itbt4XJY8aIJ2fLzWq+zpY4"


def bearer(client: TestClient, account: Account) -> dict[str, str]:
    token = client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": account.password}
    ).json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def headers(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.user())


def error_of(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["error"]["message"]
    return message


# Preferences ------------------------------------------------------------------------------------


@pytest.mark.smoke
def test_preferences_change_only_the_fields_sent(
    client: TestClient, headers: dict[str, str], settings: Settings
) -> None:
    before = client.get("/api/v1/me/preferences", headers=headers).json()
    assert before == {
        "language": None,
        "theme": "system",
        "notify_session_changes": False,
        "idle_logout_minutes": None,
        "idle_minutes_in_force": settings.session_idle_minutes,
    }
    changed = client.put(
        "/api/v1/me/preferences",
        json={"idle_logout_minutes": 30, "notify_session_changes": True},
        headers=headers,
    )
    assert changed.status_code == 200
    assert changed.json()["idle_logout_minutes"] == 30
    assert changed.json()["idle_minutes_in_force"] == 30
    assert changed.json()["notify_session_changes"] is True
    assert changed.json()["theme"] == "system"
    client.put("/api/v1/me/preferences", json={"theme": "dark", "language": "ko"}, headers=headers)
    reset = client.put(
        "/api/v1/me/preferences", json={"idle_logout_minutes": None}, headers=headers
    )
    assert reset.json()["idle_logout_minutes"] is None
    assert reset.json()["theme"] == "dark"
    assert reset.json()["language"] == "ko"
    assert reset.json()["notify_session_changes"] is True


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"idle_logout_minutes": 4}, "Automatic logout takes 5 to 1440 minutes"),
        ({"idle_logout_minutes": 1441}, "Automatic logout takes 5 to 1440 minutes"),
        ({"idle_logout_minutes": 30, "theme": "neon"}, "Choose a theme from the list."),
        ({"notify_session_changes": True, "language": "xx"}, "Choose a language from the list."),
    ],
)
def test_bad_preferences_change_nothing(
    client: TestClient, headers: dict[str, str], body: dict[str, Any], message: str
) -> None:
    before = client.get("/api/v1/me/preferences", headers=headers).json()
    assert message in error_of(
        client.put("/api/v1/me/preferences", json=body, headers=headers), 422
    )
    assert client.get("/api/v1/me/preferences", headers=headers).json() == before


@pytest.mark.parametrize(
    "body", [{"idle_logout_minutes": "soon"}, {"colour": "red"}, {"theme": None}, []]
)
def test_malformed_preferences_get_422(
    client: TestClient, headers: dict[str, str], body: Any
) -> None:
    response = client.put("/api/v1/me/preferences", json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


# API tokens ---------------------------------------------------------------------------------------


@pytest.mark.db
def test_a_token_is_shown_once_works_and_stops_working_when_revoked(
    client: TestClient, headers: dict[str, str]
) -> None:
    created = client.post(
        "/api/v1/me/tokens", json={"name": "ci", "expires_in_days": 7}, headers=headers
    )
    assert created.status_code == 201
    raw = created.json()["token"]
    assert raw.startswith(created.json()["prefix"])
    own = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/me", headers=own).status_code == 200

    listed = client.get("/api/v1/me/tokens", headers=headers).json()
    assert [t["name"] for t in listed["data"]] == ["cli", "ci"]
    assert raw not in str(listed)
    assert listed["data"][1]["last_used_at"] is not None

    token_id = created.json()["id"]
    assert client.delete(f"/api/v1/me/tokens/{token_id}", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=own).status_code == 401
    assert client.delete(f"/api/v1/me/tokens/{token_id}", headers=headers).status_code == 404


@pytest.mark.db
def test_the_lifetime_defaults_to_the_server_maximum(
    client: TestClient, headers: dict[str, str], settings: Settings
) -> None:
    created = client.post("/api/v1/me/tokens", json={"name": "long"}, headers=headers).json()
    listed = client.get("/api/v1/me/tokens", headers=headers).json()["data"][-1]
    assert listed["id"] == created["id"]
    lifetime = _days_between(listed["created_at"], listed["expires_at"])
    assert lifetime == settings.api_token_days


def _days_between(start: str, end: str) -> int:
    return round(
        (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 86400
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x" * 65}, "A token name must have 1 to 64 characters."),
        ({"name": "   "}, "A token name must have 1 to 64 characters."),
        ({"name": "ci", "expires_in_days": 0}, "A token can last 1 to 90 days."),
        ({"name": "ci", "expires_in_days": 91}, "A token can last 1 to 90 days."),
        ({"name": "ci", "expires_in_days": -5}, "A token can last 1 to 90 days."),
    ],
)
def test_bad_tokens_are_refused_and_none_is_created(
    client: TestClient, headers: dict[str, str], body: dict[str, Any], message: str
) -> None:
    assert error_of(client.post("/api/v1/me/tokens", json=body, headers=headers), 422) == message
    assert client.get("/api/v1/me/tokens", headers=headers).json()["count"] == 1  # the login's


def test_another_user_cannot_see_or_revoke_my_tokens(client: TestClient, factory: Factory) -> None:
    mine, theirs = bearer(client, factory.user()), bearer(client, factory.user())
    created = client.post("/api/v1/me/tokens", json={"name": "mine"}, headers=mine).json()
    assert "mine" not in str(client.get("/api/v1/me/tokens", headers=theirs).json())
    refused = client.delete(f"/api/v1/me/tokens/{created['id']}", headers=theirs)
    assert error_of(refused, 404) == "No such API token."
    still = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/me", headers=still).status_code == 200
    assert client.delete(f"/api/v1/me/tokens/{uuid.uuid4()}", headers=mine).status_code == 404


# SSH keys ---------------------------------------------------------------------------------------


def test_ssh_keys_are_added_listed_and_deleted(client: TestClient, headers: dict[str, str]) -> None:
    added = client.post("/api/v1/me/ssh-keys", json={"public_key": ED25519}, headers=headers)
    assert added.status_code == 201
    assert added.json()["name"] == "alice@laptop"
    assert added.json()["fingerprint"] == ED25519_FP
    listed = client.get("/api/v1/me/ssh-keys", headers=headers).json()
    assert listed["count"] == 1
    assert listed["data"][0]["public_key"] == ED25519
    key_id = added.json()["id"]
    assert client.delete(f"/api/v1/me/ssh-keys/{key_id}", headers=headers).status_code == 204
    assert client.get("/api/v1/me/ssh-keys", headers=headers).json()["count"] == 0


def test_a_named_key_keeps_its_name(client: TestClient, headers: dict[str, str]) -> None:
    body = {"public_key": ED25519, "name": "  work   laptop "}
    added = client.post("/api/v1/me/ssh-keys", json=body, headers=headers).json()
    assert added["name"] == "work laptop"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"public_key": "ssh-ed25519 AAAAjunk"}, 422, "The key's data is damaged."),
        ({"public_key": "hello"}, 422, "Not a supported public key."),
        ({"public_key": ""}, 422, "Paste a public key."),
        ({"public_key": ED25519, "name": "n" * 65}, 422, "at most 64 characters"),
    ],
)
def test_bad_keys_are_refused_and_nothing_is_stored(
    client: TestClient, headers: dict[str, str], body: dict[str, str], status: int, message: str
) -> None:
    refused = client.post("/api/v1/me/ssh-keys", json=body, headers=headers)
    assert message in error_of(refused, status)
    assert client.get("/api/v1/me/ssh-keys", headers=headers).json()["count"] == 0


@pytest.mark.db
def test_a_duplicate_key_is_refused_but_another_user_may_add_it(
    client: TestClient, factory: Factory
) -> None:
    mine, theirs = bearer(client, factory.user()), bearer(client, factory.user())
    body = {"public_key": ED25519}
    client.post("/api/v1/me/ssh-keys", json={**body, "name": "first"}, headers=mine)
    again = client.post("/api/v1/me/ssh-keys", json=body, headers=mine)
    assert error_of(again, 409) == "This key is already in your list, as first."
    assert client.post("/api/v1/me/ssh-keys", json=body, headers=theirs).status_code == 201


def test_another_user_cannot_see_or_delete_my_keys(client: TestClient, factory: Factory) -> None:
    mine, theirs = bearer(client, factory.user()), bearer(client, factory.user())
    added = client.post("/api/v1/me/ssh-keys", json={"public_key": ED25519}, headers=mine).json()
    assert client.get("/api/v1/me/ssh-keys", headers=theirs).json()["count"] == 0
    refused = client.delete(f"/api/v1/me/ssh-keys/{added['id']}", headers=theirs)
    assert error_of(refused, 404) == "No such SSH key."
    assert client.get("/api/v1/me/ssh-keys", headers=mine).json()["count"] == 1


# Authentication and CSRF ----------------------------------------------------------------------


WRITES = [
    ("PUT", "/api/v1/me/preferences", {"theme": "dark"}),
    ("POST", "/api/v1/me/tokens", {"name": "forged"}),
    ("POST", "/api/v1/me/ssh-keys", {"public_key": ED25519}),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_cookie_writes_need_the_csrf_header(
    client: TestClient, factory: Factory, method: str, path: str, body: dict[str, str]
) -> None:
    account = factory.user()
    factory.web_login(client, account)
    refused = client.request(method, path, json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    state = [client.get(p).json() for p in ("/api/v1/me/preferences", "/api/v1/me/ssh-keys")]
    assert state[0]["theme"] == "system"
    assert state[1]["count"] == 0
    assert client.get("/api/v1/me/tokens").json()["count"] == 0
    accepted = client.request(
        method, path, json=body, headers={"X-CSRF-Token": session_csrf(client)}
    )
    assert accepted.status_code in (200, 201)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/me/preferences"),
        ("GET", "/api/v1/me/tokens"),
        ("GET", "/api/v1/me/ssh-keys"),
        ("DELETE", f"/api/v1/me/tokens/{MISSING_ID}"),
    ],
)
def test_anonymous_callers_are_refused(client: TestClient, method: str, path: str) -> None:
    assert client.request(method, path).status_code == 401
