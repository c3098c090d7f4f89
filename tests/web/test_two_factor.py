"""Two-factor login in the console: the setup dialog, the code step at login, turning it off."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from shipyard.auth.models import LoginChallenge, WebSession
from shipyard.config import Settings
from shipyard.db import Database, utcnow
from tests.conftest import AppWith
from tests.factories import Account, Factory
from tests.twofactor import FakeClock, install_clock, load, recovery_codes, turn_on
from tests.webclient import csrf_of, login, page_csrf

SESSION = "shipyard_session"
CHALLENGE = "shipyard_login"
KEY = re.compile(r'id="tfa-page-key"[^>]*>([A-Z2-7 \n]+)</textarea>')
ERROR = re.compile(r'class="invalid-feedback d-block">([^<]*)<')
LOGIN_ERROR = re.compile(r'id="login-error">([^<]*)<')


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    return install_clock(monkeypatch)


def client_with(app_with: AppWith, **changes: object) -> Iterator[TestClient]:
    with TestClient(app_with(**changes), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def client_without_2fa(app_with: AppWith) -> Iterator[TestClient]:
    yield from client_with(app_with, totp_available=False)


@pytest.fixture
def client_requiring_2fa(app_with: AppWith) -> Iterator[TestClient]:
    yield from client_with(app_with, totp_required_for_admins=True)


def enabled(database: Database, account: Account) -> bool:
    with database.session() as db:
        return load(db, account.user).totp_enabled


def session_count(database: Database) -> int:
    with database.session() as db:
        return db.scalar(select(func.count()).select_from(WebSession)) or 0


def otp_step(client: TestClient, code: str, *, recovery: bool = False) -> httpx.Response:
    """POST the code step with the form's CSRF token, as the browser would."""
    page = client.get("/login/otp" + ("?recovery=1" if recovery else ""))
    data = {"csrf_token": csrf_of(page.text), "code": code}
    if recovery:
        data["recovery"] = "1"
    return client.post("/login/otp", data=data, follow_redirects=False)


# Setting it up ----------------------------------------------------------------------------------


def test_the_switch_sets_up_two_factor_with_a_code_from_the_key_shown(
    client: TestClient, factory: Factory, database: Database, clock: FakeClock
) -> None:
    account = factory.user()
    factory.web_login(client, account)
    account_page = client.get("/account")
    assert 'role="switch"' in account_page.text
    assert "2FA Enabled" in account_page.text
    setup = client.get("/account/2fa/setup")
    assert setup.status_code == 200
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in setup.text  # the QR code, inline
    key_match = KEY.search(setup.text)
    assert key_match is not None
    key = key_match.group(1)
    assert all(len(group) == 4 for group in key.split())
    token = csrf_of(setup.text)

    for typed, message in (
        ("12345", "A one-time password has 6 digits."),
        ("abcdef", "Enter the 6 digits your authenticator app shows."),
        (clock.code("".join(key.split()), steps=4), "Incorrect code."),
    ):
        refused = client.post("/account/2fa/setup", data={"csrf_token": token, "code": typed})
        assert refused.status_code == 422
        assert message in ERROR.findall(refused.text)[0]
        assert not enabled(database, account)

    code = clock.code("".join(key.split()))
    done = client.post("/account/2fa/setup", data={"csrf_token": token, "code": code})
    assert done.status_code == 200
    assert "Two-factor login is on." in done.text
    codes = re.findall(r'<li class="col">([a-z0-9-]{14})</li>', done.text)
    assert len(codes) == 10
    assert "shipyard-recovery-codes.txt" in done.text
    assert enabled(database, account)


def test_the_secret_is_never_shown_again_once_on(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    login(client, account.email, account.password)
    otp_step(client, clock.code(secret))
    again = client.get("/account/2fa/setup", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/account"
    for page in ("/account", "/account/2fa/disable"):
        assert secret not in client.get(page).text


def test_the_setup_form_needs_its_csrf_token(
    client: TestClient, factory: Factory, database: Database, clock: FakeClock
) -> None:
    account = factory.user()
    factory.web_login(client, account)
    key_match = KEY.search(client.get("/account/2fa/setup").text)
    assert key_match is not None
    code = clock.code("".join(key_match.group(1).split()))
    refused = client.post("/account/2fa/setup", data={"code": code})
    assert refused.status_code == 403
    assert not enabled(database, account)


def test_the_dialogs_fill_the_my_account_modal_for_htmx(
    client: TestClient, factory: Factory
) -> None:
    account = factory.user()
    factory.web_login(client, account)
    fragment = client.get("/account/2fa/setup", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert 'hx-target="#account-box"' in fragment.text
    assert 'id="account-title"' in fragment.text


# Logging in -----------------------------------------------------------------------------------


@pytest.mark.smoke
def test_login_asks_for_the_code_in_a_second_step(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    client.cookies.set(SESSION, "planted-by-someone")
    step_one = login(client, account.email, account.password, next_path="/data")
    assert step_one.status_code == 303
    assert step_one.headers["location"] == "/login/otp"
    cookie = step_one.headers["set-cookie"]
    assert cookie.startswith(f"{CHALLENGE}=")
    assert all(
        part in cookie for part in ("HttpOnly", "Path=/login", "SameSite=lax", "Max-Age=300")
    )
    assert SESSION not in cookie
    assert session_count(database) == 0
    page = client.get("/login/otp")
    assert 'for="login-otp">One-time password<' in page.text

    done = otp_step(client, clock.code(secret))
    assert done.status_code == 303
    assert done.headers["location"] == "/data"
    issued = done.cookies[SESSION]
    assert issued != "planted-by-someone"
    assert session_count(database) == 1
    assert client.get("/data").status_code == 200


def test_a_wrong_password_never_reaches_the_code_step(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    wrong = login(client, account.email, "Wrong-password-1")
    unknown = login(client, "nobody@example.org", "Wrong-password-1")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Incorrect email or password." in response.text
        assert CHALLENGE not in response.headers.get("set-cookie", "")
        assert "One-time password" not in response.text
    assert client.get("/login/otp", follow_redirects=False).headers["location"] == "/login"


def test_the_challenge_cookie_alone_grants_nothing(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    login(client, account.email, account.password)
    assert client.cookies.get(CHALLENGE)
    for path in ("/", "/account", "/account/2fa/disable"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.db
def test_a_code_is_refused_the_second_time(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    code = clock.code(secret)
    login(client, account.email, account.password)
    assert otp_step(client, code).status_code == 303
    client.cookies.clear()
    login(client, account.email, account.password)
    replay = otp_step(client, code)
    assert replay.status_code == 401
    assert LOGIN_ERROR.findall(replay.text) == [
        "This one-time password was already used. Wait for the next one."
    ]
    assert SESSION not in replay.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("12345", "A one-time password has 6 digits."),
        ("1234567", "A one-time password has 6 digits."),
        ("12345a", "Enter the 6 digits your authenticator app shows."),
    ],
)
def test_codes_of_the_wrong_shape_are_explained(
    client: TestClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    clock: FakeClock,
    typed: str,
    message: str,
) -> None:
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    login(client, account.email, account.password)
    refused = otp_step(client, typed)
    assert refused.status_code == 422
    assert LOGIN_ERROR.findall(refused.text) == [message]


def test_a_recovery_code_logs_in_once(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    codes = recovery_codes(database, account.user)
    login(client, account.email, account.password)
    page = client.get("/login/otp?recovery=1")
    assert 'for="login-recovery-code">Recovery code<' in page.text
    assert otp_step(client, codes[3], recovery=True).status_code == 303
    client.cookies.clear()
    login(client, account.email, account.password)
    again = otp_step(client, codes[3], recovery=True)
    assert again.status_code == 401
    assert "Incorrect or already used recovery code." in again.text


@pytest.mark.db
def test_guessing_ends_the_challenge_then_throttles_the_account(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    wrong = clock.code(secret, steps=5)
    login(client, account.email, account.password)
    for _ in range(4):
        assert otp_step(client, wrong).status_code == 401
    ended = otp_step(client, wrong)
    assert ended.status_code == 401
    assert "Too many incorrect codes. Enter your email and password again." in ended.text
    assert 'id="login-password"' in ended.text
    throttled = login(client, account.email, account.password)
    assert throttled.status_code == 429
    assert "Too many failed login attempts. Try again in 1 minute." in throttled.text


@pytest.mark.db
def test_an_expired_challenge_sends_back_to_the_password(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    login(client, account.email, account.password)
    token = csrf_of(client.get("/login/otp").text)
    with database.session() as db:
        db.execute(update(LoginChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    late = client.post(
        "/login/otp", data={"csrf_token": token, "code": clock.code(secret)}, follow_redirects=False
    )
    assert late.status_code == 401
    assert "Your login has expired. Enter your email and password again." in late.text
    assert SESSION not in late.headers.get("set-cookie", "")
    assert client.get("/login/otp", follow_redirects=False).headers["location"] == "/login"


def test_the_code_step_needs_its_csrf_token(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    login(client, account.email, account.password)
    for token in (None, "forged"):
        data = {"code": clock.code(secret)} | ({"csrf_token": token} if token else {})
        refused = client.post("/login/otp", data=data, follow_redirects=False)
        assert refused.status_code == 403
    assert session_count(database) == 0


# Turning it off -------------------------------------------------------------------------------


def test_turning_off_needs_a_current_code_and_then_login_asks_for_none(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    login(client, account.email, account.password)
    otp_step(client, clock.code(secret))
    clock.tick()
    dialog = client.get("/account/2fa/disable")
    assert "Turn off two-factor login?" in dialog.text
    token = csrf_of(dialog.text)
    assert client.post("/account/2fa/disable", data={"code": clock.code(secret)}).status_code == 403
    for typed, message in (
        ("1234", "A one-time password has 6 digits."),
        (clock.code(secret, steps=3), "Incorrect one-time password."),
    ):
        refused = client.post("/account/2fa/disable", data={"csrf_token": token, "code": typed})
        assert refused.status_code == 422
        assert ERROR.findall(refused.text) == [message]
        assert enabled(database, account)
    done = client.post(
        "/account/2fa/disable", data={"csrf_token": token, "code": clock.code(secret)}
    )
    assert "Two-factor login is off." in done.text
    assert not enabled(database, account)
    client.cookies.clear()
    assert login(client, account.email, account.password).headers["location"] == "/"


# Server settings ------------------------------------------------------------------------------


def test_where_the_server_has_two_factor_off_there_is_no_switch_and_no_code_step(
    client_without_2fa: TestClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    clock: FakeClock,
) -> None:
    client = client_without_2fa
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    arrived = login(client, account.email, account.password)
    assert arrived.headers["location"] == "/"
    assert "2FA Enabled" not in client.get("/account").text
    assert client.get("/account/2fa/setup").status_code == 404
    assert client.get("/account/2fa/disable").status_code == 404
    token = page_csrf(client, "/account")
    refused = client.post("/account/2fa/disable", data={"csrf_token": token, "code": "123456"})
    assert refused.status_code == 404
    assert enabled(database, account)  # kept for when the server turns it on again


def test_an_admin_required_to_use_two_factor_is_sent_to_set_it_up_first(
    client_requiring_2fa: TestClient, factory: Factory, database: Database, clock: FakeClock
) -> None:
    client = client_requiring_2fa
    admin = factory.admin()
    arrived = login(client, admin.email, admin.password)
    for path in (arrived.headers["location"], "/sessions", "/account", "/preferences"):
        sent = client.get(path, follow_redirects=False)
        assert sent.status_code == 303
        assert sent.headers["location"] == "/account/2fa/setup"
    htmx = client.get("/sessions", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["HX-Redirect"] == "/account/2fa/setup"
    setup = client.get("/account/2fa/setup")
    assert "Administrators on this server must use two-factor login." in setup.text
    assert ">Cancel<" not in setup.text
    key_match = KEY.search(setup.text)
    assert key_match is not None
    code = clock.code("".join(key_match.group(1).split()))
    done = client.post("/account/2fa/setup", data={"csrf_token": csrf_of(setup.text), "code": code})
    assert 'href="/">Done<' in done.text
    assert client.get("/sessions", follow_redirects=False).status_code == 200


def test_users_who_are_not_admins_are_not_required_to_use_two_factor(
    client_requiring_2fa: TestClient, factory: Factory
) -> None:
    account = factory.user()
    login(client_requiring_2fa, account.email, account.password)
    assert client_requiring_2fa.get("/", follow_redirects=False).status_code == 200
