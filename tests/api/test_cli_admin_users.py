"""`shipyard admin user ...` in-process against this test's app: list, create, show, update,
deactivate, activate, reset-password and reset-2fa, for people and with --output json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from shipyard.users.models import Role
from tests.cli_helpers import CliAs, cli_as_fixture, served_fixture  # noqa: F401  (fixtures)
from tests.factories import Account, Factory


def as_user(monkeypatch: pytest.MonkeyPatch, base: str, account: Account, home: Path) -> None:
    """The CLI against a live server at `base` as the account (test_admin_superadmin_rules)."""
    body = {"email": account.email, "password": account.password}
    token: str = httpx.post(f"{base}/api/v1/auth/login", json=body).json()["token"]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("SHIPYARD_ENDPOINT", base)
    monkeypatch.setenv("SHIPYARD_TOKEN", token)
    monkeypatch.setenv("COLUMNS", "200")


def test_admin_user_commands(cli_as: CliAs, client: TestClient, factory: Factory) -> None:
    boss = factory.user(role=Role.SUPERADMIN)
    project = factory.project()
    cli = cli_as(boss)

    def ok(*args: str, stdin: str | None = None) -> str:
        return cli.ok("admin", "user", *args, stdin=stdin)

    def as_json(*args: str) -> Any:
        return cli.json("admin", "user", *args)

    def fails(*args: str) -> str:
        return cli.fails("admin", "user", *args)

    created = as_json(
        "create",
        "cli.person@example.org",
        "--name",
        "Cli Person",
        "--generate-password",
        "--project",
        f"{project.name}:owner",
    )
    assert created["generated_password"]
    assert {(p["name"], p["role"]) for p in created["projects"]} == {
        ("default", "member"),
        (project.name, "owner"),
    }
    typed = ok("create", "typed@example.org", "--password", "typed-Pass-1")
    assert "created typed@example.org (user)" in typed
    prompted = ok("create", "prompted@example.org", stdin="prompt-Pass-1\nprompt-Pass-1\n")
    assert "created prompted@example.org" in prompted

    table = ok("list", "--search", "cli.person")
    assert "cli.person@example.org" in table
    assert "Cli Person" in table
    assert "1-1 of 1" in table
    listed = as_json("list", "--role", "superadmin")
    assert [u["email"] for u in listed["data"]] == [boss.email]

    shown = ok("show", "cli.person@example.org")
    assert "Cli Person" in shown
    assert f"{project.name} (owner)" in shown
    updated = as_json("update", "cli.person@example.org", "--role", "admin", "--name", "Renamed")
    assert (updated["role"], updated["full_name"]) == ("admin", "Renamed")
    assert "nothing to change" in fails("update", "cli.person@example.org")

    gone = as_json("deactivate", "typed@example.org")
    assert gone["user"]["status"] == "inactive"
    assert "is inactive" in ok("deactivate", "prompted@example.org")
    assert "typed@example.org is active" in ok("activate", "typed@example.org")

    reset = ok("reset-password", "typed@example.org", "--generate")
    assert "password (shown once):" in reset
    again = as_json("reset-password", "typed@example.org", "--generate")
    login = client.post(
        "/api/v1/auth/login",
        json={"email": "typed@example.org", "password": again["generated_password"]},
    )
    assert login.status_code == 201
    assert "is off" in ok("reset-2fa", "typed@example.org")

    assert "No such user." in fails("show", "nobody@example.org")
    assert "yourself" in fails("deactivate", boss.email)


def test_a_normal_user_is_refused(cli_as: CliAs, factory: Factory) -> None:
    cli = cli_as(factory.user())
    assert "Only administrators may do this." in cli.fails("admin", "user", "list")
    refused = cli.fails("admin", "user", "deactivate", "x@example.org")
    assert "Only administrators may do this." in refused
