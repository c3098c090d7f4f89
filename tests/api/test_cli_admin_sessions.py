"""`shipyard admin session list|info|terminate` in-process against this test's app: filters,
pages, the table and --output json, a reason prompted or given, and what a user is told."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.cli_helpers import CliAs, cli_as_fixture, served_fixture  # noqa: F401  (fixtures)
from tests.factories import Factory


def test_admin_session_commands(cli_as: CliAs, client: TestClient, factory: Factory) -> None:
    factory.agent()
    owner, other = factory.user(), factory.user()
    theirs = [factory.session(owner.user, cpu="2") for _ in range(3)]
    factory.session(other.user)
    cli = cli_as(factory.admin())

    table = cli.ok("admin", "session", "list", "--user", owner.email, "--limit", "2")
    assert theirs[2].name in table
    assert theirs[1].name in table
    assert theirs[0].name not in table
    assert owner.email in table
    assert "cpu=2" in table
    assert "PENDING" in table
    assert "2 shown of 3" in table
    cursor = table.split("next page: --after ")[1].split()[0]
    rest = cli.json("admin", "session", "list", "--user", owner.email, "--after", cursor)
    assert [s["name"] for s in rest["data"]] == [theirs[0].name]
    pending = cli.json("admin", "session", "list", "--status", "pending", "--group", "default")
    assert pending["count"] == 4

    shown = cli.ok("admin", "session", "info", str(theirs[0].id))
    assert owner.email in shown
    assert "Waiting to be scheduled." in shown

    ended = cli.ok(
        "admin", "session", "terminate", str(theirs[0].id), stdin="Disk full on the node\n"
    )
    assert "CANCELLED — Cancelled by an administrator: Disk full on the node" in ended
    given = cli.json("admin", "session", "terminate", str(theirs[1].id), "--reason", "Quota")
    assert given["status_info"] == "Cancelled by an administrator: Quota"
    own = cli_as(owner).ok("session", "info", str(theirs[1].id))
    assert "Cancelled by an administrator: Quota" in own

    assert "No session status is called asleep" in cli.fails(
        "admin", "session", "list", "--status", "asleep"
    )
    assert "give a reason" in cli.fails(
        "admin", "session", "terminate", str(theirs[2].id), "--reason", " "
    )
    refused = cli_as(owner).fails("admin", "session", "list")
    assert "Only administrators may do this." in refused
