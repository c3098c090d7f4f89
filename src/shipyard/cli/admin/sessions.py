"""`shipyard admin session ...`: every user's sessions (admins only)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.table import Table

from shipyard.cli.http import once
from shipyard.cli.output import Output, OutputOption, add_row, console, fail, print_json, say

app = typer.Typer(help="Every user's sessions.", no_args_is_help=True)

SessionArg = Annotated[str, typer.Argument(help="the session's id")]
PATH = "/api/v1/admin/sessions"


def _slots(resources: dict[str, str]) -> str:
    return " ".join(f"{slot}={amount}" for slot, amount in sorted(resources.items()))


@app.command("list")
def list_(
    user: Annotated[str, typer.Option("--user", help="the owner's email or id")] = "",
    project: Annotated[str, typer.Option("--project", help="name or id")] = "",
    group: Annotated[str, typer.Option("--group", help="resource group name or id")] = "",
    agent: Annotated[str, typer.Option("--agent", help="agent id")] = "",
    status: Annotated[str, typer.Option("--status", help="PENDING, RUNNING, ...")] = "",
    after: Annotated[str, typer.Option("--after", help="a page cursor (printed as next)")] = "",
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    output: Output = OutputOption,
) -> None:
    """Every user's sessions, newest first, with filters; one page at a time."""
    filters = {"user": user, "project": project, "group": group, "agent": agent}
    params: dict[str, Any] = {key: value for key, value in filters.items() if value}
    params.update({"status": status, "after": after, "limit": limit})
    found = once("GET", PATH, params={key: value for key, value in params.items() if value})
    if output is Output.JSON:
        print_json(found)
        return
    table = Table("NAME", "OWNER", "PROJECT", "GROUP", "AGENT", "STATUS", "CREATED", "RESOURCES")
    for session in found["data"]:
        add_row(
            table,
            session["name"],
            session["owner"],
            session["project"],
            session["resource_group"],
            session["agent"] or "-",
            session["status"],
            session["created_at"][:19].replace("T", " "),
            _slots(session["resources"]),
        )
    console.print(table)
    total = f"more than {found['count']:,}" if found["more"] else f"{found['count']:,}"
    say(f"{len(found['data'])} shown of {total}")
    if found["next"]:
        say(f"next page: --after {found['next']}")


def _show(session: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    rows = [
        ("name", session["name"]),
        ("id", session["id"]),
        ("owner", session["owner"]),
        ("status", f"{session['status']} — {session['status_info']}"),
        ("type", f"{session['type']} ({session['environment']})"),
        ("project", session["project"]),
        ("group", session["resource_group"]),
        ("agent", session["agent"] or "-"),
        ("requests", _slots(session["resources"])),
        ("created", session["created_at"]),
    ]
    if session["exit_code"] is not None:
        rows.append(("exit", str(session["exit_code"])))
    for key, value in rows:
        add_row(table, key, str(value))
    console.print(table)


@app.command()
def info(session: SessionArg, output: Output = OutputOption) -> None:
    """One session of any user: status with reason, where it runs, what it requests."""
    found = once("GET", f"{PATH}/{quote(session, safe='')}")
    if output is Output.JSON:
        print_json(found)
        return
    _show(found)


@app.command()
def terminate(
    session: SessionArg,
    reason: Annotated[
        str | None, typer.Option("--reason", help="shown to the owner (else: prompted)")
    ] = None,
    output: Output = OutputOption,
) -> None:
    """End any user's session; the owner reads the reason. Audited."""
    if reason is None:
        reason = typer.prompt("Reason (shown to the owner)")
    if not reason.strip():
        fail("give a reason: the owner reads it")
    ended = once("POST", f"{PATH}/{quote(session, safe='')}/terminate", json={"reason": reason})
    if output is Output.JSON:
        print_json(ended)
        return
    say(f"{ended['name']} ({ended['owner']}): {ended['status']} — {ended['status_info']}")
