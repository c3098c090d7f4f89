"""Two-factor login through the API and the CLI: setup, login with `otp`, admin reset."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shipyard.cli.main import app as cli
from shipyard.config import Settings
from shipyard.db import Database
from tests.conftest import AppWith
from tests.factories import Account, Factory
from tests.twofactor import FakeClock, install_clock, load, recovery_codes, turn_on

runner = CliRunner()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    return install_clock(monkeypatch)


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("SHIPYARD_ENDPOINT", raising=False)
    monkeypatch.delenv("SHIPYARD_TOKEN", raising=False)
    return home


def log_in(client: TestClient, account: Account, otp: str | None = None) -> httpx.Response:
    body = {"email": account.email, "password": account.password}
    return client.post("/api/v1/auth/login", json=body | ({"otp": otp} if otp else {}))


def bearer(client: TestClient, account: Account, otp: str | None = None) -> dict[str, str]:
    issued = log_in(client, account, otp)
    assert issued.status_code == 201, issued.text
    return {"Authorization": f"Bearer {issued.json()['token']}"}


def error_of(response: httpx.Response) -> tuple[str, str]:
    error = response.json()["error"]
    return error["code"], error["message"]


def enabled(database: Database, account: Account) -> bool:
    with database.session() as db:
        return load(db, account.user).totp_enabled


# Setup --------------------------------------------------------------------------------------


def test_setup_confirm_and_status(
    client: TestClient, factory: Factory, database: Database, clock: FakeClock
) -> None:
    account = factory.user()
    headers = bearer(client, account)
    status = client.get("/api/v1/me/2fa", headers=headers).json()
    assert status == {
        "available": True,
        "enabled": False,
        "required": False,
        "recovery_codes_left": 0,
    }
    setup = client.post("/api/v1/me/2fa/setup", headers=headers)
    assert setup.status_code == 201
    secret = setup.json()["secret"]
    assert setup.json()["uri"].startswith("otpauth://totp/Shipyard:")

    wrong = client.post(
        "/api/v1/me/2fa/confirm", headers=headers, json={"code": clock.code(secret, steps=3)}
    )
    assert wrong.status_code == 422
    assert error_of(wrong)[1].startswith("Incorrect code.")
    short = client.post("/api/v1/me/2fa/confirm", headers=headers, json={"code": "12345"})
    assert error_of(short) == ("invalid_input", "A one-time password has 6 digits.")
    assert not enabled(database, account)

    done = client.post("/api/v1/me/2fa/confirm", headers=headers, json={"code": clock.code(secret)})
    assert done.status_code == 200
    assert len(done.json()["recovery_codes"]) == 10
    status = client.get("/api/v1/me/2fa", headers=headers).json()
    assert (status["enabled"], status["recovery_codes_left"]) == (True, 10)
    again = client.post("/api/v1/me/2fa/setup", headers=headers)
    assert again.status_code == 409
    assert secret not in again.text


# Logging in -----------------------------------------------------------------------------------


def test_login_without_a_code_says_otp_required(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    missing = log_in(client, account)
    assert missing.status_code == 401
    assert error_of(missing) == (
        "otp_required",
        "This account uses two-factor login: send the one-time password as well.",
    )
    wrong = log_in(client, account, clock.code(secret, steps=3))
    assert error_of(wrong) == ("authentication_failed", "Incorrect one-time password.")
    code = clock.code(secret)
    assert log_in(client, account, code).status_code == 201
    replay = log_in(client, account, code)
    assert replay.status_code == 401
    assert "already used" in error_of(replay)[1]


def test_a_wrong_password_with_a_right_code_still_fails_alike(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    body = {"email": account.email, "password": "Wrong-password-1", "otp": clock.code(secret)}
    refused = client.post("/api/v1/auth/login", json=body)
    assert error_of(refused) == ("authentication_failed", "Incorrect email or password.")


@pytest.mark.db
def test_a_recovery_code_works_as_otp_once(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    codes = recovery_codes(database, account.user)
    assert log_in(client, account, codes[0]).status_code == 201
    assert log_in(client, account, codes[0]).status_code == 401


@pytest.mark.db
def test_guessing_codes_is_throttled_with_retry_after(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    wrong = clock.code(secret, steps=4)
    for _ in range(settings.login_max_failures_per_account):
        assert log_in(client, account, wrong).status_code == 401
    throttled = log_in(client, account, clock.code(secret))
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert error_of(throttled)[0] == "throttled"


@pytest.mark.parametrize("otp", ["12345", "1234567", "12345x"])
def test_codes_of_the_wrong_shape_are_422(
    client: TestClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    clock: FakeClock,
    otp: str,
) -> None:
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    refused = log_in(client, account, otp)
    assert refused.status_code == 422
    assert "6-digit" in error_of(refused)[1] or "6 digits" in error_of(refused)[1]


# Turning off, reset -----------------------------------------------------------------------------


def test_disable_needs_a_right_code(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    headers = bearer(client, account, clock.code(secret))
    clock.tick()
    wrong = client.post(
        "/api/v1/me/2fa/disable", headers=headers, json={"code": clock.code(secret, steps=3)}
    )
    assert wrong.status_code == 422
    assert enabled(database, account)
    done = client.post("/api/v1/me/2fa/disable", headers=headers, json={"code": clock.code(secret)})
    assert done.status_code == 204
    assert not enabled(database, account)
    assert log_in(client, account).status_code == 201


def test_an_admin_resets_a_users_two_factor_and_it_is_logged(
    client: TestClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    account, admin = factory.user(), factory.admin()
    turn_on(database, settings, account.user, clock)
    caplog.set_level(logging.INFO, logger="shipyard.auth.totp")
    reset = client.post(
        f"/api/v1/admin/users/{account.email}/reset-2fa", headers=bearer(client, admin)
    )
    assert reset.status_code == 200
    assert reset.json()["email"] == account.email
    assert f"reset by {admin.email}" in caplog.text
    assert log_in(client, account).status_code == 201
    unknown = client.post(
        "/api/v1/admin/users/nobody@example.org/reset-2fa", headers=bearer(client, admin)
    )
    assert unknown.status_code == 404


def test_only_admins_reset_two_factor(
    client: TestClient, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    victim, other = factory.user(), factory.user()
    turn_on(database, settings, victim.user, clock)
    refused = client.post(
        f"/api/v1/admin/users/{victim.user.id}/reset-2fa", headers=bearer(client, other)
    )
    assert refused.status_code == 403
    assert enabled(database, victim)


@pytest.fixture
def client_without_2fa(app_with: AppWith) -> Iterator[TestClient]:
    app = app_with(totp_available=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_where_two_factor_is_off_the_endpoints_refuse_and_login_needs_no_code(
    client_without_2fa: TestClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    clock: FakeClock,
) -> None:
    client = client_without_2fa
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    headers = bearer(client, account)
    assert client.get("/api/v1/me/2fa", headers=headers).json()["available"] is False
    for path in ("setup", "confirm", "disable"):
        body = {} if path == "setup" else {"json": {"code": "123456"}}
        assert client.post(f"/api/v1/me/2fa/{path}", headers=headers, **body).status_code == 404


# The CLI ----------------------------------------------------------------------------------------


def test_cli_login_asks_for_the_one_time_password(
    live_server: str,
    factory: Factory,
    database: Database,
    settings: Settings,
    clock: FakeClock,
    config_home: Path,
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    args = ["login", "--endpoint", live_server, "--email", account.email, "--password-stdin"]
    result = runner.invoke(cli, args, input=f"{account.password}\n{clock.code(secret)}\n")
    assert result.exit_code == 0, result.output
    assert "One-time password" in result.output
    assert f"Logged in to {live_server} as {account.email}" in result.output
    clock.tick()
    wrong = runner.invoke(cli, [*args, "--otp", "000000"], input=f"{account.password}\n")
    assert wrong.exit_code == 1
    flag = runner.invoke(cli, [*args, "--otp", clock.code(secret)], input=f"{account.password}\n")
    assert flag.exit_code == 0, flag.output
    assert "One-time password" not in flag.output


def test_cli_admin_resets_two_factor(
    live_server: str,
    factory: Factory,
    database: Database,
    settings: Settings,
    clock: FakeClock,
    config_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account, admin = factory.user(), factory.admin()
    turn_on(database, settings, account.user, clock)
    with httpx.Client(base_url=live_server) as http:
        issued = http.post(
            "/api/v1/auth/login", json={"email": admin.email, "password": admin.password}
        )
    monkeypatch.setenv("SHIPYARD_ENDPOINT", live_server)
    monkeypatch.setenv("SHIPYARD_TOKEN", issued.json()["token"])
    result = runner.invoke(cli, ["admin", "user", "reset-2fa", account.email])
    assert result.exit_code == 0, result.output
    assert f"two-factor login of {account.email} is off" in result.output
    assert not enabled(database, account)
    missing = runner.invoke(cli, ["admin", "user", "reset-2fa", "nobody@example.org"])
    assert missing.exit_code == 1
    assert "No such user." in missing.output
