"""`shipyard login / whoami / logout`: the real executable against a live server once, then
in-process against this test's app."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.test_cli_server import SHIPYARD, clean_env
from tests.cli_helpers import invoke, served_fixture, token_of  # noqa: F401  (served)
from tests.factories import Factory


@pytest.fixture
def config_home(tmp_path: Path) -> Path:
    return tmp_path / "config"


def no_credentials(config_home: Path) -> dict[str, str | None]:
    """A config dir of its own and no SHIPYARD_ENDPOINT / SHIPYARD_TOKEN from the caller."""
    return {"XDG_CONFIG_HOME": str(config_home), "SHIPYARD_ENDPOINT": None, "SHIPYARD_TOKEN": None}


def cli_login(endpoint: str, email: str, password: str, config_home: Path):  # type: ignore[no-untyped-def]
    return invoke(
        ["login", "--endpoint", endpoint, "--email", email, "--password-stdin"],
        env=no_credentials(config_home),
        stdin=password + "\n",
    )


def test_login_stores_a_private_token_and_logout_revokes_it(
    live_server: str, factory: Factory, config_home: Path
) -> None:
    account = factory.user()
    env = {**clean_env(), "XDG_CONFIG_HOME": str(config_home)}

    def shipyard(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SHIPYARD, *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    login = ["login", "--endpoint", live_server, "--email", account.email, "--password-stdin"]
    result = shipyard(*login, stdin=account.password + "\n")
    assert result.returncode == 0, result.stderr
    assert f"Logged in to {live_server} as {account.email}" in result.stdout
    stored = config_home / "shipyard" / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    token = json.loads(stored.read_text())["token"]

    whoami = shipyard("whoami", "--output", "json")
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["user"]["email"] == account.email

    logout = shipyard("logout")
    assert logout.returncode == 0, logout.stderr
    assert not stored.exists()
    after = httpx.get(f"{live_server}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401


def test_a_wrong_password_stores_nothing(served: str, factory: Factory, config_home: Path) -> None:
    account = factory.user()
    result = cli_login(served, account.email, "Wrong-password-1", config_home)
    assert result.exit_code == 1
    assert "Incorrect email or password." in result.output
    assert not (config_home / "shipyard" / "credentials.json").exists()


def test_environment_variables_work_for_scripts(
    served: str, client: TestClient, factory: Factory, config_home: Path
) -> None:
    account = factory.user()
    env = {
        "XDG_CONFIG_HOME": str(config_home),
        "SHIPYARD_ENDPOINT": served,
        "SHIPYARD_TOKEN": token_of(client, account),
    }
    result = invoke(["whoami"], env=env)
    assert result.exit_code == 0, result.output
    assert account.email in result.output
    assert "current: default" in result.output


def test_commands_without_credentials_say_so(config_home: Path) -> None:
    for command in (["whoami"], ["logout"]):
        result = invoke(command, env=no_credentials(config_home))
        assert result.exit_code == 1
        assert "not logged in" in result.output


def test_an_unreachable_endpoint_is_reported(config_home: Path) -> None:
    result = cli_login("http://127.0.0.1:9", "a@example.org", "x", config_home)
    assert result.exit_code == 1
    assert "cannot reach" in result.output
