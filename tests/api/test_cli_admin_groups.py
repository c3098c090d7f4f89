"""`shipyard admin resource-group|agent|agent-token|environment ...` in-process against this
test's app."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import Result

from shipyard.db import Database
from shipyard.scheduler.service import schedule_once
from tests.cli_helpers import invoke, served_fixture, token_of  # noqa: F401  (served)
from tests.factories import Account, Factory


@pytest.fixture
def log_in(
    served: str, client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[Account], None]:
    """The CLI talks to this test's app with an account's API token."""

    def as_account(account: Account) -> None:
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
        monkeypatch.setenv("SHIPYARD_ENDPOINT", served)
        monkeypatch.setenv("SHIPYARD_TOKEN", token_of(client, account))

    return as_account


@pytest.fixture
def as_admin(log_in: Callable[[Account], None], factory: Factory) -> Account:
    admin = factory.admin()
    log_in(admin)
    return admin


def run(*args: str) -> Result:
    return invoke(list(args), env={})


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def as_json(*args: str) -> object:
    return json.loads(ok(*args, "--output", "json"))


def test_resource_groups(as_admin: Account, factory: Factory) -> None:
    project = factory.project()
    created = as_json("admin", "resource-group", "create", "gpu", "--placement", "spread")
    assert created == {**created, "name": "gpu", "placement": "spread", "is_active": True}
    assert "gpu" in ok("admin", "resource-group", "list")
    twice = run("admin", "resource-group", "create", "gpu")
    assert twice.exit_code == 1
    assert "already exists" in twice.output
    updated = as_json("admin", "resource-group", "update", "gpu", "--description", "A100")
    assert updated["description"] == "A100"  # type: ignore[index]
    off = run("admin", "resource-group", "update", "default", "--inactive")
    assert off.exit_code == 1
    assert "cannot be deactivated" in off.output
    allowed = as_json("admin", "resource-group", "projects", "gpu", "-p", project.name)
    assert allowed == [project.name]
    assert ok("admin", "resource-group", "projects", "gpu").split() == [project.name]
    assert as_json("admin", "resource-group", "projects", "gpu", "--clear") == []
    factory.agent(group="gpu")
    listed = as_json("admin", "resource-group", "agents", "gpu")
    assert listed["count"] == 1  # type: ignore[index]


def test_resource_group_network(as_admin: Account) -> None:
    created = as_json(
        "admin", "resource-group", "create", "lab", "--network", "none",
        "--allow", "10.1.2.3/24", "--allow", "10.9.0.5:443", "--allow", "10.1.2.0/24",
    )  # fmt: skip
    assert created["network_mode"] == "none"  # type: ignore[index]
    assert created["network_allow"] == ["10.1.2.0/24", "10.9.0.5:443"]  # type: ignore[index]
    shown = ok("admin", "resource-group", "show", "lab")
    assert "none" in shown
    assert "10.1.2.0/24, 10.9.0.5:443" in shown
    row = next(line for line in ok("admin", "resource-group", "list").splitlines() if "lab" in line)
    assert "none" in row
    assert "10.9.0.5:443" in row
    kept = as_json("admin", "resource-group", "update", "lab", "--network", "outbound")
    assert kept["network_allow"] == ["10.1.2.0/24", "10.9.0.5:443"]  # type: ignore[index]
    replaced = as_json("admin", "resource-group", "update", "lab", "--allow", "192.168.1.1:22")
    assert replaced["network_allow"] == ["192.168.1.1:22"]  # type: ignore[index]
    bad = run("admin", "resource-group", "update", "lab", "--allow", "10.0.0.0/33", "--allow", "x")
    assert bad.exit_code == 1
    assert "'10.0.0.0/33', 'x'" in bad.output
    both = run("admin", "resource-group", "update", "lab", "--allow", "10.0.0.1", "--clear-allow")
    assert both.exit_code == 1
    assert "not both" in both.output
    assert as_json("admin", "resource-group", "show", "lab")["network_allow"] == [  # type: ignore[index]
        "192.168.1.1:22"
    ]
    cleared = as_json("admin", "resource-group", "update", "lab", "--clear-allow")
    assert (cleared["network_mode"], cleared["network_allow"]) == ("outbound", [])  # type: ignore[index]
    wrong = run("admin", "resource-group", "create", "x", "--network", "bridge")
    assert wrong.exit_code == 2


def test_agents_drain_undrain_move(as_admin: Account, factory: Factory, database: Database) -> None:
    agent = factory.agent()
    assert agent.id in ok("admin", "agent", "list")
    assert f"agent {agent.id} is draining" in ok("admin", "agent", "drain", agent.id)
    shown = as_json("admin", "agent", "list", "--group", "default")
    row = next(a for a in shown["data"] if a["id"] == agent.id)  # type: ignore[index]
    assert row["schedulable"] is False
    undrained = as_json("admin", "agent", "undrain", agent.id)
    assert undrained["schedulable"] is True  # type: ignore[index]
    ok("admin", "resource-group", "create", "batch")
    factory.session(factory.user().user)
    with database.session() as db:
        schedule_once(db)
    busy = run("admin", "agent", "move", agent.id, "batch")
    assert busy.exit_code == 1
    assert "still has sessions" in busy.output
    idle = factory.agent()
    assert f"agent {idle.id} moved to batch" in ok("admin", "agent", "move", idle.id, "batch")
    missing = run("admin", "agent", "drain", "no-such-agent")
    assert missing.exit_code == 1
    assert "No such agent" in missing.output


def test_agent_tokens(as_admin: Account) -> None:
    issued = as_json("admin", "agent-token", "create")
    assert issued["token"].startswith("sya_")  # type: ignore[index]
    listed = ok("admin", "agent-token", "list")
    assert issued["prefix"] in listed  # type: ignore[index]
    assert issued["token"] not in listed  # type: ignore[index]
    token_id = issued["id"]  # type: ignore[index]
    assert "revoked" in ok("admin", "agent-token", "revoke", token_id)
    rows = as_json("admin", "agent-token", "list")["data"]  # type: ignore[index]
    assert next(t for t in rows if t["id"] == token_id)["revoked_at"]
    bad = run("admin", "agent-token", "revoke", "not-an-id")
    assert bad.exit_code == 1


def test_environments(as_admin: Account) -> None:
    assert "disabled: new sessions cannot use it" in ok("admin", "environment", "disable", "python")
    listed = as_json("admin", "environment", "list")
    assert listed["data"][0]["enabled"] is False  # type: ignore[index]
    assert as_json("admin", "environment", "enable", "python")["enabled"] is True  # type: ignore[index]
    missing = run("admin", "environment", "disable", "nope")
    assert missing.exit_code == 1
    assert "Unknown environment: nope." in missing.output


def test_a_normal_user_is_refused(log_in: Callable[[Account], None], factory: Factory) -> None:
    log_in(factory.user())
    for args in (
        ["admin", "resource-group", "list"],
        ["admin", "agent", "list"],
        ["admin", "agent-token", "list"],
        ["admin", "environment", "disable", "python"],
    ):
        result = run(*args)
        assert result.exit_code == 1
        assert "Only administrators may do this." in result.output
