"""`shipyard login / whoami / logout` against a live server."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from shipyard.cli.main import app
from tests.factories import Factory

runner = CliRunner()


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("SHIPYARD_ENDPOINT", raising=False)
    monkeypatch.delenv("SHIPYARD_TOKEN", raising=False)
    return home


def cli_login(live_server: str, email: str, password: str):  # type: ignore[no-untyped-def]
    return runner.invoke(
        app,
        ["login", "--endpoint", live_server, "--email", email, "--password-stdin"],
        input=password + "\n",
    )


def test_login_stores_a_private_token_and_logout_revokes_it(
    live_server: str, factory: Factory, config_home: Path
) -> None:
    account = factory.user()
    result = cli_login(live_server, account.email, account.password)
    assert result.exit_code == 0, result.output
    assert f"Logged in to {live_server} as {account.email}" in result.output
    stored = config_home / "shipyard" / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    token = json.loads(stored.read_text())["token"]

    whoami = runner.invoke(app, ["whoami", "--output", "json"])
    assert whoami.exit_code == 0, whoami.output
    assert json.loads(whoami.output)["user"]["email"] == account.email

    logout = runner.invoke(app, ["logout"])
    assert logout.exit_code == 0, logout.output
    assert not stored.exists()
    after = httpx.get(f"{live_server}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401


def test_a_wrong_password_stores_nothing(
    live_server: str, factory: Factory, config_home: Path
) -> None:
    account = factory.user()
    result = cli_login(live_server, account.email, "Wrong-password-1")
    assert result.exit_code == 1
    assert "Incorrect email or password." in result.output
    assert not (config_home / "shipyard" / "credentials.json").exists()


def test_environment_variables_work_for_scripts(
    live_server: str, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = factory.user()
    token = httpx.post(
        f"{live_server}/api/v1/auth/login",
        json={"email": account.email, "password": account.password},
    ).json()["token"]
    monkeypatch.setenv("SHIPYARD_ENDPOINT", live_server)
    monkeypatch.setenv("SHIPYARD_TOKEN", token)
    result = runner.invoke(app, ["whoami"])
    assert result.exit_code == 0, result.output
    assert account.email in result.output
    assert "current: default" in result.output


def test_commands_without_credentials_say_so() -> None:
    for command in (["whoami"], ["logout"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1
        assert "not logged in" in result.output


def test_an_unreachable_endpoint_is_reported(factory: Factory) -> None:
    result = cli_login("http://127.0.0.1:9", "a@example.org", "x")
    assert result.exit_code == 1
    assert "cannot reach" in result.output
