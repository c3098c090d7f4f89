"""`shipyard admin project ...` and `shipyard admin policy ...`: the real executable against
a real `shipyard manager` process serving this test's database."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_cli_folders import _token, manager  # noqa: F401  (the manager fixture)
from tests.api.test_cli_server import SHIPYARD, clean_env
from tests.factories import Account, Factory


class AdminCli:
    def __init__(self, endpoint: str, token: str, home: Path) -> None:
        self.env = {
            **clean_env(),
            "SHIPYARD_ENDPOINT": endpoint,
            "SHIPYARD_TOKEN": token,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "COLUMNS": "200",
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SHIPYARD, "admin", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--output", "json"))

    def fails(self, *args: str) -> str:
        result = self.run(*args)
        assert result.returncode == 1, result.stdout
        assert "Traceback" not in result.stderr
        return result.stderr


def cli_for(endpoint: str, account: Account, tmp_path: Path) -> AdminCli:
    return AdminCli(endpoint, _token(endpoint, account), tmp_path / f"home-{account.email}")


@pytest.fixture
def admin_cli(manager: str, factory: Factory, tmp_path: Path) -> AdminCli:  # noqa: F811
    return cli_for(manager, factory.admin(), tmp_path)


def test_policies_from_create_to_delete(admin_cli: AdminCli) -> None:
    created = admin_cli.json(
        "policy", "create", "gpu-users", "--kind", "user",
        "--slot", "cpu=8", "--slot", "mem=32g", "--slot", "cuda.device=unlimited",
        "--max-sessions", "3", "--max-lifetime", "8h", "--max-scratch", "2g",
    )  # fmt: skip
    assert created["slots"] == {"cpu": "8", "mem": str(32 * 2**30), "cuda.device": "inf"}
    assert (created["max_concurrent_sessions"], created["max_session_lifetime"]) == (3, 28800)
    assert created["max_session_scratch"] == 2 * 2**30
    shown = admin_cli.ok("policy", "show", "gpu-users")
    assert "cpu=8" in shown
    assert "cuda.device=∞" in shown
    assert f"max scratch: {2 * 2**30} bytes" in shown
    updated = admin_cli.json(
        "policy", "update", "gpu-users", "--slot", "cpu=unlimited", "--max-scratch", "default"
    )
    assert updated["slots"]["cpu"] == "inf"
    assert updated["max_session_scratch"] is None
    assert "max scratch: site default" in admin_cli.ok("policy", "show", "gpu-users")
    listed = admin_cli.json("policy", "list", "--kind", "user")
    assert "gpu-users" in {p["name"] for p in listed["data"]}
    assert "gpu-users" in admin_cli.ok("policy", "list")
    made = admin_cli.json("policy", "set-default", "gpu-users")
    assert made["is_default"] is True
    refused = admin_cli.fails("policy", "delete", "gpu-users")
    assert "default user policy" in refused
    admin_cli.ok("policy", "set-default", "default", "--kind", "user")
    deleted = admin_cli.json("policy", "delete", "gpu-users")
    assert deleted["name"] == "gpu-users"
    assert "No such resource policy" in admin_cli.fails("policy", "show", "gpu-users")


def test_bad_policy_input_is_one_clear_line(admin_cli: AdminCli) -> None:
    error = admin_cli.fails("policy", "create", "x", "--slot", "cpu=-1")
    assert "cpu needs a non-negative amount" in error
    assert "slot=amount" in admin_cli.fails("policy", "create", "x", "--slot", "cpu")
    assert "Unknown resource: tpu." in admin_cli.fails("policy", "create", "x", "--slot", "tpu=1")
    small = admin_cli.fails("policy", "create", "x", "--max-scratch", "8m")
    assert "Scratch space must be at least 16m." in small


def test_projects_members_and_groups(admin_cli: AdminCli, factory: Factory) -> None:
    person = factory.user()
    admin_cli.ok("policy", "create", "lab", "--kind", "project", "--slot", "cpu=64")
    created = admin_cli.json(
        "project", "create", "vision", "--description", "Camera team", "--policy", "lab"
    )
    assert (created["resource_policy"]["name"], created["resource_groups"]) == ("lab", ["default"])
    added = admin_cli.json("project", "member", "add", "vision", person.email, "--role", "owner")
    assert added["role"] == "owner"
    assert "is now member" in admin_cli.ok(
        "project", "member", "role", "vision", person.email, "member"
    )
    members = admin_cli.json("project", "member", "list", "vision")
    assert [(m["email"], m["role"]) for m in members["data"]] == [(person.email, "member")]
    groups = admin_cli.json("project", "groups", "vision")
    assert groups == {"project": "vision", "resource_groups": ["default"]}
    assert "No active resource group" in admin_cli.fails(
        "project", "groups", "vision", "--set", "nowhere"
    )
    shown = admin_cli.ok("project", "show", "vision")
    assert "Camera team" in shown
    assert "lab" in shown
    off = admin_cli.json("project", "update", "vision", "--inactive", "--policy", "default")
    assert (off["is_active"], off["own_policy"]) == (False, False)
    listed = admin_cli.json("project", "list", "--search", "camera")
    assert [p["name"] for p in listed["data"]] == ["vision"]
    assert "vision" in admin_cli.ok("project", "list")
    removed = admin_cli.json("project", "member", "remove", "vision", person.email)
    assert removed == {"project": "vision", "removed": person.email}
    assert "No active user has the email" in admin_cli.fails(
        "project", "member", "add", "vision", "ghost@example.org"
    )


def test_a_normal_user_is_refused(manager: str, factory: Factory, tmp_path: Path) -> None:  # noqa: F811
    user_cli = cli_for(manager, factory.user(), tmp_path)
    assert "Only administrators" in user_cli.fails("project", "list")
    assert "Only administrators" in user_cli.fails("policy", "create", "x", "--kind", "user")
