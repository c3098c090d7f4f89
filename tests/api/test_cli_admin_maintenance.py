"""`shipyard admin maintenance|announcement ...`: the real executable against a live server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.db import Database
from shipyard.sessions import recount
from tests.api.test_cli_server import SHIPYARD, clean_env
from tests.factories import Account, Factory
from tests.maintenance_helpers import busy, corrupt, drift_tuples, expected_drifts


class Cli:
    def __init__(self, endpoint: str, account: Account, home: Path) -> None:
        body = {"email": account.email, "password": account.password}
        self.token = httpx.post(f"{endpoint}/api/v1/auth/login", json=body).json()["token"]
        self.endpoint = endpoint
        self.home = home

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        env = {
            **clean_env(),
            "SHIPYARD_ENDPOINT": self.endpoint,
            "SHIPYARD_TOKEN": self.token,
            "HOME": str(self.home),
            "COLUMNS": "200",
        }
        return subprocess.run(
            [SHIPYARD, "admin", *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def ok(self, *args: str, stdin: str = "") -> str:
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "-o", "json"))

    def fails(self, *args: str) -> str:
        result = self.run(*args)
        assert result.returncode != 0, result.stdout
        assert "Traceback" not in result.stderr
        return " ".join(result.stderr.split())


@pytest.fixture
def admin_cli(live_server: str, factory: Factory, tmp_path: Path) -> Cli:
    return Cli(live_server, factory.admin(), tmp_path / "admin")


def test_recalculate_wait_prints_the_drifts_and_fixes_them(
    admin_cli: Cli, factory: Factory, database: Database
) -> None:
    world = busy(factory, database)
    corrupt(database, world)
    printed = admin_cli.ok("maintenance", "recalculate", "--wait")
    assert "succeeded" in printed
    assert world.alice.email in printed
    assert "4 GiB" in printed  # the deleted agent memory row, for people
    assert "3 drift(s) corrected." in printed
    with database.session() as db:
        assert recount.rebuild(db) == []

    corrupt(database, world)
    task = admin_cli.json("maintenance", "recalculate", "--wait")
    assert task["state"] == "succeeded"
    assert drift_tuples(task["result"]) == expected_drifts(world)
    again = admin_cli.ok("maintenance", "recalculate", "--wait")
    assert "No drift: the ledger matched the sessions." in again

    listed = admin_cli.ok("maintenance", "tasks")
    assert listed.count("recalculate_usage") == 3
    one = admin_cli.json("maintenance", "task", task["id"])
    assert one["id"] == task["id"]


def test_rescan_without_wait_returns_at_once(admin_cli: Cli) -> None:
    task = admin_cli.json("maintenance", "rescan")
    assert task["state"] in ("queued", "running", "succeeded")
    done = admin_cli.json("maintenance", "task", task["id"], "--wait")
    assert done["state"] == "succeeded"
    assert set(done["result"]) == {"added", "kept", "disabled"}


def test_announcement_set_show_clear(admin_cli: Cli, tmp_path: Path) -> None:
    assert "No announcement." in admin_cli.ok("announcement", "show")
    assert "shown on every page" in admin_cli.ok("announcement", "set", "**Hello** all")
    assert admin_cli.json("announcement", "show")["message"] == "**Hello** all"

    admin_cli.ok("announcement", "set", "--file", "-", stdin="from *stdin*\n")
    shown = admin_cli.json("announcement", "show")
    assert shown["message"] == "from *stdin*"
    assert "<em>stdin</em>" in shown["html"]
    note = tmp_path / "note.md"
    note.write_text("from a file")
    admin_cli.ok("announcement", "set", "--file", str(note), "--hidden")
    assert admin_cli.json("announcement", "show")["enabled"] is False

    assert "Announcement cleared." in admin_cli.ok("announcement", "clear")
    assert "No announcement." in admin_cli.ok("announcement", "show")


def test_cli_errors_are_one_clear_line(admin_cli: Cli, tmp_path: Path) -> None:
    assert "at most 5000 characters" in admin_cli.fails("announcement", "set", "x" * 5001)
    assert "give the message" in admin_cli.fails("announcement", "set")
    assert "cannot read" in admin_cli.fails("announcement", "set", "--file", str(tmp_path / "no"))
    assert "no such task" in admin_cli.fails(
        "maintenance", "task", "00000000-0000-0000-0000-000000000000"
    )


def test_normal_users_are_refused(live_server: str, factory: Factory, tmp_path: Path) -> None:
    user = Cli(live_server, factory.user(), tmp_path / "user")
    assert "Only administrators" in user.fails("maintenance", "recalculate")
    assert "Only administrators" in user.fails("announcement", "set", "mine")
