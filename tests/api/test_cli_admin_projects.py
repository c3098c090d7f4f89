"""`shipyard admin project ...` and `shipyard admin policy ...` in-process against this test's
app."""

from __future__ import annotations

import pytest

from tests.cli_helpers import Cli, CliAs, cli_as_fixture, served_fixture  # noqa: F401  (fixtures)
from tests.factories import Factory


@pytest.fixture
def admin_cli(cli_as: CliAs, factory: Factory) -> Cli:
    return cli_as(factory.admin())


def test_policies_from_create_to_delete(admin_cli: Cli) -> None:
    created = admin_cli.json(
        "admin", "policy", "create", "gpu-users", "--kind", "user",
        "--slot", "cpu=8", "--slot", "mem=32g", "--slot", "cuda.device=unlimited",
        "--max-sessions", "3", "--max-lifetime", "8h", "--max-scratch", "2g",
    )  # fmt: skip
    assert created["slots"] == {"cpu": "8", "mem": str(32 * 2**30), "cuda.device": "inf"}
    assert (created["max_concurrent_sessions"], created["max_session_lifetime"]) == (3, 28800)
    assert created["max_session_scratch"] == 2 * 2**30
    shown = admin_cli.ok("admin", "policy", "show", "gpu-users")
    assert "cpu=8" in shown
    assert "cuda.device=∞" in shown
    assert f"max scratch: {2 * 2**30} bytes" in shown
    updated = admin_cli.json(
        "admin", "policy", "update", "gpu-users", "--slot", "cpu=unlimited",
        "--max-scratch", "default",
    )  # fmt: skip
    assert updated["slots"]["cpu"] == "inf"
    assert updated["max_session_scratch"] is None
    assert "max scratch: site default" in admin_cli.ok("admin", "policy", "show", "gpu-users")
    listed = admin_cli.json("admin", "policy", "list", "--kind", "user")
    assert "gpu-users" in {p["name"] for p in listed["data"]}
    assert "gpu-users" in admin_cli.ok("admin", "policy", "list")
    made = admin_cli.json("admin", "policy", "set-default", "gpu-users")
    assert made["is_default"] is True
    refused = admin_cli.fails("admin", "policy", "delete", "gpu-users")
    assert "default user policy" in refused
    admin_cli.ok("admin", "policy", "set-default", "default", "--kind", "user")
    deleted = admin_cli.json("admin", "policy", "delete", "gpu-users")
    assert deleted["name"] == "gpu-users"
    assert "No such resource policy" in admin_cli.fails("admin", "policy", "show", "gpu-users")


def test_bad_policy_input_is_one_clear_line(admin_cli: Cli) -> None:
    error = admin_cli.fails("admin", "policy", "create", "x", "--slot", "cpu=-1")
    assert "CPU needs a number of cores such as 2 or 0.5, not “-1”." in error
    assert "slot=amount" in admin_cli.fails("admin", "policy", "create", "x", "--slot", "cpu")
    assert "Unknown resource: tpu." in admin_cli.fails(
        "admin", "policy", "create", "x", "--slot", "tpu=1"
    )
    small = admin_cli.fails("admin", "policy", "create", "x", "--max-scratch", "8m")
    assert "Scratch space must be at least 16m." in small


def test_projects_members_and_groups(admin_cli: Cli, factory: Factory) -> None:
    person = factory.user()
    admin_cli.ok("admin", "policy", "create", "lab", "--kind", "project", "--slot", "cpu=64")
    created = admin_cli.json(
        "admin", "project", "create", "vision", "--description", "Camera team", "--policy", "lab"
    )
    assert (created["resource_policy"]["name"], created["resource_groups"]) == ("lab", ["default"])
    added = admin_cli.json(
        "admin", "project", "member", "add", "vision", person.email, "--role", "owner"
    )
    assert added["role"] == "owner"
    assert "is now member" in admin_cli.ok(
        "admin", "project", "member", "role", "vision", person.email, "member"
    )
    members = admin_cli.json("admin", "project", "member", "list", "vision")
    assert [(m["email"], m["role"]) for m in members["data"]] == [(person.email, "member")]
    groups = admin_cli.json("admin", "project", "groups", "vision")
    assert groups == {"project": "vision", "resource_groups": ["default"]}
    assert "No active resource group" in admin_cli.fails(
        "admin", "project", "groups", "vision", "--set", "nowhere"
    )
    shown = admin_cli.ok("admin", "project", "show", "vision")
    assert "Camera team" in shown
    assert "lab" in shown
    off = admin_cli.json(
        "admin", "project", "update", "vision", "--inactive", "--policy", "default"
    )
    assert (off["is_active"], off["own_policy"]) == (False, False)
    listed = admin_cli.json("admin", "project", "list", "--search", "camera")
    assert [p["name"] for p in listed["data"]] == ["vision"]
    assert "vision" in admin_cli.ok("admin", "project", "list")
    removed = admin_cli.json("admin", "project", "member", "remove", "vision", person.email)
    assert removed == {"project": "vision", "removed": person.email}
    assert "No active user has the email" in admin_cli.fails(
        "admin", "project", "member", "add", "vision", "ghost@example.org"
    )


def test_a_normal_user_is_refused(cli_as: CliAs, factory: Factory) -> None:
    user_cli = cli_as(factory.user())
    assert "Only administrators" in user_cli.fails("admin", "project", "list")
    assert "Only administrators" in user_cli.fails(
        "admin", "policy", "create", "x", "--kind", "user"
    )
