"""My Account in the console: the name, the password and what a password change ends."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.db import Database
from shipyard.users.models import User
from tests.factories import Account, Factory
from tests.webclient import login, session_csrf

NEW_PASSWORD = "Brand-new-pass-9"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def account(client: TestClient, factory: Factory) -> Account:
    account = factory.user(full_name="Ada Lovelace")
    factory.web_login(client, account)
    return account


def stored(database: Database, account: Account) -> User:
    with database.session() as db:
        user = db.scalar(select(User).where(User.email == account.email))
        assert user is not None
        return user


def submit(
    client: TestClient, *, headers: dict[str, str] | None = None, **fields: str
) -> httpx.Response:
    """POST the My Account form as the page offers it, with its CSRF token."""
    data = {"full_name": "Ada Lovelace", "csrf_token": session_csrf(client), **fields}
    return client.post("/account", data=data, headers=headers or {}, follow_redirects=False)


def error_of(html: str, field: str) -> str:
    """The message shown under a field (its id ends in the field name with dashes)."""
    name = field.replace("_", "-")
    match = re.search(rf'id="account-page-{name}-error"[^>]*>([^<]*)<', html)
    assert match, f"no error under {field}"
    return match.group(1)


def logs_in(app: FastAPI, account: Account, password: str) -> bool:
    with TestClient(app) as other:
        return login(other, account.email, password).status_code == 303


def test_the_form_shows_the_fields_and_who_is_logged_in(
    client: TestClient, account: Account
) -> None:
    html = client.get("/account").text
    for label in ("Full Name", "Original password", "New password", "New password again"):
        assert f">{label}</label>" in html
    assert 'value="Ada Lovelace"' in html
    assert account.email in html
    assert ">User<" in html
    assert ">Update</button>" in html
    assert html.count('aria-label="Show password"') == 3


def test_htmx_gets_the_dialog_alone(client: TestClient, account: Account) -> None:
    html = client.get("/account", headers=HTMX).text
    assert "<html" not in html
    assert 'id="account-title"' in html
    assert 'hx-post="/account"' in html


@pytest.mark.smoke
def test_changing_the_name(client: TestClient, account: Account, database: Database) -> None:
    response = submit(client, full_name="  Ada King  ")
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Your account has been updated." in page.text
    assert "topbar-user-name" in page.text
    assert ">Ada King</span>" in page.text
    assert stored(database, account).full_name == "Ada King"


def test_htmx_name_change_tells_the_top_bar(
    client: TestClient, account: Account, database: Database
) -> None:
    response = submit(client, full_name="Ada King", headers=HTMX)
    assert response.status_code == 200
    assert '"shipyard:account-updated": {"name": "Ada King"}' in response.headers["hx-trigger"]
    assert "Your account has been updated." in response.text
    assert stored(database, account).full_name == "Ada King"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 65, "The full name can have at most 64 characters."),
        ("", "Enter your full name (1 to 64 characters)."),
        ("   ", "Enter your full name (1 to 64 characters)."),
    ],
)
def test_a_bad_name_is_refused_and_nothing_changes(
    client: TestClient, account: Account, database: Database, name: str, message: str
) -> None:
    response = submit(client, full_name=name)
    assert response.status_code == 422
    assert error_of(response.text, "full_name") == message
    assert 'aria-invalid="true"' in response.text
    assert stored(database, account).full_name == "Ada Lovelace"


def test_a_64_character_name_is_accepted(
    client: TestClient, account: Account, database: Database
) -> None:
    assert submit(client, full_name="y" * 64).status_code == 303
    assert stored(database, account).full_name == "y" * 64


def test_a_nul_character_is_refused_without_an_error_page(
    client: TestClient, account: Account, database: Database
) -> None:
    assert submit(client, full_name="Ada\x00").status_code == 422
    assert stored(database, account).full_name == "Ada Lovelace"


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("Ab1-", "The password must have 8 to 256 characters."),
        ("abcdefgh-", "The password needs at least one letter, one digit and one symbol."),
        ("abcdefgh1", "The password needs at least one letter, one digit and one symbol."),
        ("12345678-", "The password needs at least one letter, one digit and one symbol."),
    ],
)
def test_weak_passwords_are_refused(
    app: FastAPI, client: TestClient, account: Account, new: str, message: str
) -> None:
    response = submit(
        client,
        full_name="Ada King",
        current_password=account.password,
        new_password=new,
        new_password_again=new,
    )
    assert response.status_code == 422
    assert error_of(response.text, "new_password") == message
    assert 'value="Ada King"' in response.text  # what was typed stays
    assert logs_in(app, account, account.password)


OLD = "correct-Horse-7"  # the factory's password


@pytest.mark.parametrize(
    ("current", "new", "again", "field", "message"),
    [
        (
            OLD,
            NEW_PASSWORD,
            NEW_PASSWORD + "x",
            "new_password_again",
            "The new passwords do not match.",
        ),
        (
            "",
            NEW_PASSWORD,
            NEW_PASSWORD,
            "current_password",
            "Enter your original password to change it.",
        ),
        (
            "Wrong-pass-1",
            NEW_PASSWORD,
            NEW_PASSWORD,
            "current_password",
            "The original password is not correct.",
        ),
        (OLD, "", NEW_PASSWORD, "new_password", "Enter the new password."),
        (OLD, OLD, OLD, "new_password", "The new password must differ from the original one."),
    ],
)
def test_a_refused_password_change_changes_nothing(
    app: FastAPI,
    client: TestClient,
    account: Account,
    database: Database,
    current: str,
    new: str,
    again: str,
    field: str,
    message: str,
) -> None:
    response = submit(
        client,
        full_name="Ada King",
        current_password=current,
        new_password=new,
        new_password_again=again,
    )
    assert response.status_code == 422
    assert error_of(response.text, field) == message
    assert OLD not in response.text  # passwords are never sent back
    assert stored(database, account).full_name == "Ada Lovelace"
    assert logs_in(app, account, account.password)
    assert not logs_in(app, account, NEW_PASSWORD)


def test_a_name_change_needs_no_password(
    client: TestClient, account: Account, database: Database
) -> None:
    response = submit(client, full_name="Ada King", current_password="anything")
    assert response.status_code == 303
    assert response.headers["location"] == "/account?updated=profile"
    assert stored(database, account).full_name == "Ada King"


@pytest.fixture
def other_browser(app: FastAPI, factory: Factory, account: Account) -> Iterator[TestClient]:
    """A second browser logged in as the same user."""
    with TestClient(app) as other:
        factory.web_login(other, account)
        yield other


@pytest.mark.db
def test_a_password_change_ends_every_other_way_in(
    app: FastAPI, client: TestClient, account: Account, other_browser: TestClient
) -> None:
    with TestClient(app) as cli:  # the CLI logs in with the password, cookie-less
        token = cli.post(
            "/api/v1/auth/login", json={"email": account.email, "password": account.password}
        ).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    response = submit(
        client,
        current_password=account.password,
        new_password=NEW_PASSWORD,
        new_password_again=NEW_PASSWORD,
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert page.status_code == 200  # this browser stays logged in
    assert "Your password has been changed." in page.text
    gone = other_browser.get("/", follow_redirects=False)
    assert gone.status_code == 303
    assert gone.headers["location"] == "/login"
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    assert logs_in(app, account, NEW_PASSWORD)
    assert not logs_in(app, account, account.password)


def test_htmx_password_change_shows_the_confirmation_in_the_dialog(
    client: TestClient, account: Account
) -> None:
    response = submit(
        client,
        headers=HTMX,
        current_password=account.password,
        new_password=NEW_PASSWORD,
        new_password_again=NEW_PASSWORD,
    )
    assert response.status_code == 200
    assert "Your password has been changed." in response.text
    assert NEW_PASSWORD not in response.text


def test_htmx_refusals_come_back_as_the_dialog_with_the_message(
    client: TestClient, account: Account
) -> None:
    response = submit(client, headers=HTMX, full_name="x" * 65)
    assert response.status_code == 200  # htmx swaps only successful answers
    assert 'id="account-full-name-error"' in response.text
    assert "The full name can have at most 64 characters." in response.text


def test_without_the_csrf_token_nothing_changes(
    app: FastAPI, client: TestClient, account: Account, database: Database
) -> None:
    for token in ("", "forged"):
        response = client.post(
            "/account",
            data={
                "full_name": "Mallory",
                "current_password": account.password,
                "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD,
                "csrf_token": token,
            },
            follow_redirects=False,
        )
        assert response.status_code == 403
        assert "This form has expired." in response.text
    assert stored(database, account).full_name == "Ada Lovelace"
    assert logs_in(app, account, account.password)


@pytest.mark.db
def test_guessing_the_original_password_is_throttled(
    app: FastAPI, client: TestClient, account: Account, database: Database
) -> None:
    limit = app.state.settings.login_max_failures_per_account
    for attempt in range(limit):
        response = submit(
            client,
            current_password=f"Guess-{attempt}-x",
            new_password=NEW_PASSWORD,
            new_password_again=NEW_PASSWORD,
        )
        assert response.status_code == 422
    response = submit(
        client,
        current_password=account.password,
        new_password=NEW_PASSWORD,
        new_password_again=NEW_PASSWORD,
    )
    assert response.status_code == 429
    assert "Too many failed login attempts." in response.text
    with TestClient(app) as other:
        assert login(other, account.email, NEW_PASSWORD).status_code == 429
    stored_user = stored(database, account)
    assert stored_user.full_name == "Ada Lovelace"


def test_anonymous_visitors_cannot_post_the_form(client: TestClient, factory: Factory) -> None:
    response = client.post("/account", data={"full_name": "x"}, follow_redirects=False)
    assert response.status_code == 303  # no session: to the login page, before anything else
    assert response.headers["location"] == "/login?reason=logged-out"
