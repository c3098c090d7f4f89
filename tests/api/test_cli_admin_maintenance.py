"""`shipyard admin maintenance|announcement ...` in-process against this test's app."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.db import Database
from shipyard.sessions import recount
from tests.cli_helpers import Cli, CliAs, cli_as_fixture, served_fixture  # noqa: F401  (fixtures)
from tests.factories import Factory
from tests.maintenance_helpers import busy, corrupt, drift_tuples, expected_drifts


@pytest.fixture
def admin_cli(cli_as: CliAs, factory: Factory) -> Cli:
    return cli_as(factory.admin())


def test_recalculate_wait_prints_the_drifts_and_fixes_them(
    admin_cli: Cli, factory: Factory, database: Database
) -> None:
    world = busy(factory, database)
    corrupt(database, world)
    printed = admin_cli.ok("admin", "maintenance", "recalculate", "--wait")
    assert "succeeded" in printed
    assert world.alice.email in printed
    assert "4 GiB" in printed  # the deleted agent memory row, for people
    assert "3 drift(s) corrected." in printed
    with database.session() as db:
        assert recount.rebuild(db) == []

    corrupt(database, world)
    task = admin_cli.json("admin", "maintenance", "recalculate", "--wait")
    assert task["state"] == "succeeded"
    assert drift_tuples(task["result"]) == expected_drifts(world)
    again = admin_cli.ok("admin", "maintenance", "recalculate", "--wait")
    assert "No drift: the ledger matched the sessions." in again

    listed = admin_cli.ok("admin", "maintenance", "tasks")
    assert listed.count("recalculate_usage") == 3
    one = admin_cli.json("admin", "maintenance", "task", task["id"])
    assert one["id"] == task["id"]


def test_rescan_without_wait_returns_at_once(admin_cli: Cli) -> None:
    task = admin_cli.json("admin", "maintenance", "rescan")
    assert task["state"] in ("queued", "running", "succeeded")
    done = admin_cli.json("admin", "maintenance", "task", task["id"], "--wait")
    assert done["state"] == "succeeded"
    assert set(done["result"]) == {"added", "kept", "disabled"}


def test_announcement_set_show_clear(admin_cli: Cli, tmp_path: Path) -> None:
    assert "No announcement." in admin_cli.ok("admin", "announcement", "show")
    assert "shown on every page" in admin_cli.ok("admin", "announcement", "set", "**Hello** all")
    assert admin_cli.json("admin", "announcement", "show")["message"] == "**Hello** all"

    admin_cli.ok("admin", "announcement", "set", "--file", "-", stdin="from *stdin*\n")
    shown = admin_cli.json("admin", "announcement", "show")
    assert shown["message"] == "from *stdin*"
    assert "<em>stdin</em>" in shown["html"]
    note = tmp_path / "note.md"
    note.write_text("from a file")
    admin_cli.ok("admin", "announcement", "set", "--file", str(note), "--hidden")
    assert admin_cli.json("admin", "announcement", "show")["enabled"] is False

    assert "Announcement cleared." in admin_cli.ok("admin", "announcement", "clear")
    assert "No announcement." in admin_cli.ok("admin", "announcement", "show")


def test_cli_errors_are_one_clear_line(admin_cli: Cli, tmp_path: Path) -> None:
    assert "at most 5000 characters" in admin_cli.fails("admin", "announcement", "set", "x" * 5001)
    assert "give the message" in admin_cli.fails("admin", "announcement", "set")
    assert "cannot read" in admin_cli.fails(
        "admin", "announcement", "set", "--file", str(tmp_path / "no")
    )
    assert "no such task" in admin_cli.fails(
        "admin", "maintenance", "task", "00000000-0000-0000-0000-000000000000"
    )


def test_normal_users_are_refused(cli_as: CliAs, factory: Factory) -> None:
    user = cli_as(factory.user())
    assert "Only administrators" in user.fails("admin", "maintenance", "recalculate")
    assert "Only administrators" in user.fails("admin", "announcement", "set", "mine")
