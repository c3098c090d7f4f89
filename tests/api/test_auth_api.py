"""API login, personal tokens and the one error shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from shipyard.auth.models import ApiToken
from shipyard.db import Database, utcnow
from shipyard.users.models import User, UserStatus
from tests.factories import Factory


def api_login(client: TestClient, email: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


@pytest.mark.smoke
def test_login_issues_a_token_that_authenticates(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    response = api_login(client, account.email, account.password)
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("shy_")
    assert body["user"]["email"] == account.email
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["user"]["email"] == account.email
    assert [p["name"] for p in me.json()["projects"]] == ["default"]


@pytest.mark.db
def test_email_is_case_insensitive(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    assert api_login(client, account.email.upper(), account.password).status_code == 201


def test_tokens_are_stored_hashed(client: TestClient, factory: Factory, database: Database) -> None:
    account = factory.user()
    token = api_login(client, account.email, account.password).json()["token"]
    with database.session() as db:
        stored = db.scalars(select(ApiToken.token_hash)).all()
    assert stored
    assert token not in stored
    assert all(len(h) == 64 for h in stored)


def test_wrong_password_and_unknown_email_fail_alike(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    wrong = api_login(client, account.email, "Wrong-password-1")
    unknown = api_login(client, "nobody@example.org", "Wrong-password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "authentication_failed"
    assert wrong.json()["error"]["message"] == "Incorrect email or password."


@pytest.mark.db
def test_repeated_failures_are_throttled_per_account(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    for _ in range(5):
        assert api_login(client, account.email, "Wrong-password-1").status_code == 401
    throttled = api_login(client, account.email, account.password)
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "throttled"
    assert "Try again in 1 minute." in throttled.json()["error"]["message"]
    assert 0 < int(throttled.headers["Retry-After"]) <= 30


@pytest.mark.db
def test_unknown_accounts_are_throttled_the_same_way(client: TestClient) -> None:
    for _ in range(5):
        assert api_login(client, "ghost@example.org", "Wrong-password-1").status_code == 401
    assert api_login(client, "ghost@example.org", "Wrong-password-1").status_code == 429


@pytest.mark.db
def test_failures_from_one_address_are_throttled_across_accounts(
    client: TestClient, factory: Factory
) -> None:
    account = factory.user()
    for number in range(30):
        api_login(client, f"spray{number}@example.org", "Wrong-password-1")
    assert api_login(client, account.email, account.password).status_code == 429


@pytest.mark.db
def test_a_success_resets_the_account_counter(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    for _ in range(4):
        api_login(client, account.email, "Wrong-password-1")
    assert api_login(client, account.email, account.password).status_code == 201
    for _ in range(4):
        api_login(client, account.email, "Wrong-password-1")
    assert api_login(client, account.email, account.password).status_code == 201


def test_inactive_users_cannot_log_in(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    with database.session() as db:
        db.execute(
            update(User).where(User.id == account.user.id).values(status=UserStatus.INACTIVE)
        )
        db.commit()
    response = api_login(client, account.email, account.password)
    assert response.status_code == 401
    assert "inactive" in response.json()["error"]["message"]


def test_logout_revokes_the_token(client: TestClient, factory: Factory) -> None:
    account = factory.user()
    token = api_login(client, account.email, account.password).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    after = client.get("/api/v1/me", headers=headers)
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "authentication_failed"


@pytest.mark.db
def test_expired_and_made_up_tokens_are_refused(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    token = api_login(client, account.email, account.password).json()["token"]
    with database.session() as db:
        db.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    for bearer in (token, "shy_made-up", ""):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {bearer}"})
        assert response.status_code == 401


def test_anonymous_calls_get_401_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_malformed_json_gets_422_in_the_documented_shape(
    client: TestClient, database: Database
) -> None:
    response = client.post(
        "/api/v1/auth/login", content=b'{"email": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["message"] == "The request is not valid."
    assert isinstance(error["details"], list)
    assert error["details"]
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_missing_and_extra_fields_get_422(client: TestClient) -> None:
    assert client.post("/api/v1/auth/login", json={"email": "a@b.org"}).status_code == 422
    extra = client.post(
        "/api/v1/auth/login", json={"email": "a@b.org", "password": "x", "admin": True}
    )
    assert extra.status_code == 422
    assert extra.json()["error"]["details"][0]["loc"] == ["body", "admin"]


def test_hostile_inputs_never_produce_a_500(client: TestClient) -> None:
    bodies = [
        {"email": "\x00", "password": "\x00"},
        {"email": "a" * 254, "password": "p" * 1024},
        {"email": "' OR 1=1 --", "password": "x"},
        {"email": "ü@ä.example", "password": "🙂"},
        [],
        "string",
        None,
    ]
    for body in bodies:
        response = client.post("/api/v1/auth/login", json=body)
        assert response.status_code in (401, 422), (body, response.text)
    for raw in (b"\xff\xfe", b"[[[[", b"{" * 10000):
        response = client.post(
            "/api/v1/auth/login", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422
