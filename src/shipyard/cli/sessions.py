"""`shipyard session ...`: start, list, inspect, follow and end compute sessions."""

from __future__ import annotations

import time
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape
from rich.table import Table

from shipyard.cli.http import api, authed
from shipyard.cli.output import Output, OutputOption, console, fail, print_json

app = typer.Typer(help="Compute sessions.", no_args_is_help=True)
ACTIVE = {"PENDING", "SCHEDULED", "PREPARING"}
FINISHED = {"TERMINATED", "ERROR", "CANCELLED"}


def _resources(pairs: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        slot, sep, amount = pair.partition("=")
        if not sep or not slot.strip() or not amount.strip():
            fail(f"write resources as slot=amount (cpu=2, mem=4g), not {pair!r}")
        found[slot.strip()] = amount.strip()
    return found


@app.command("create")
def create(
    env: Annotated[str, typer.Option("--env", help="environment name")] = "python",
    kind: Annotated[str, typer.Option("--type", help="batch or interactive")] = "batch",
    cmd: Annotated[str, typer.Option("--cmd", help="the batch command")] = "",
    resources: Annotated[
        list[str] | None, typer.Option("-r", "--resource", help="slot=amount, repeatable")
    ] = None,
    project: Annotated[str | None, typer.Option("--project")] = None,
    resource_group: Annotated[str | None, typer.Option("--resource-group")] = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    mounts: Annotated[
        list[str] | None,
        typer.Option(
            "--mount", help="a folder (name or id) to mount at /home/work/NAME, repeatable"
        ),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="wait until it runs (batch: ends)")] = False,
    output: Output = OutputOption,
) -> None:
    """Start a session; it is scheduled as soon as the limits and an agent allow."""
    body: dict[str, Any] = {
        "environment": env,
        "type": kind,
        "command": cmd,
        "resources": _resources(resources or []),
        "mounts": mounts or [],
    }
    for key, value in (("project", project), ("resource_group", resource_group), ("name", name)):
        if value is not None:
            body[key] = value
    with authed() as client:
        session = api(client, "POST", "/api/v1/sessions", json=body)
        if wait:
            session = _wait(client, session)
    _show(session, output)
    if wait and session["status"] == "ERROR":
        raise typer.Exit(1)


def _wait(client: httpx.Client, session: dict[str, Any]) -> dict[str, Any]:
    until = FINISHED if session["type"] == "batch" else FINISHED | {"RUNNING"}
    while session["status"] not in until:
        time.sleep(0.2)
        session = api(client, "GET", f"/api/v1/sessions/{session['id']}")
    return session


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="include finished sessions")] = False,
    output: Output = OutputOption,
) -> None:
    """Your sessions, newest first."""
    with authed() as client:
        page = api(client, "GET", "/api/v1/sessions", params={"all": all_})
    if output is Output.JSON:
        print_json(page)
        return
    table = Table("NAME", "STATUS", "TYPE", "RESOURCES", "AGE", "ID")
    for session in page["data"]:
        table.add_row(
            session["name"],
            session["status"],
            session["type"],
            _slots(session["resources"]),
            session["created_at"][:19].replace("T", " "),
            session["id"],
        )
    console.print(table)
    console.print(f"{page['count']} session(s)")


@app.command("info")
def info(
    ref: Annotated[str, typer.Argument(help="name or id")], output: Output = OutputOption
) -> None:
    """One session: status with reason, resources, history."""
    with authed() as client:
        _show(api(client, "GET", f"/api/v1/sessions/{ref}"), output)


@app.command("logs")
def logs(
    ref: Annotated[str, typer.Argument(help="name or id")],
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="keep printing new output")
    ] = False,
    plain: Annotated[
        bool,
        typer.Option("--plain", help="without terminal control codes (colours, cursor moves)"),
    ] = False,
) -> None:
    """Print a session's output (with -f until it ends)."""
    offset = 0
    with authed() as client:
        while True:
            params: dict[str, Any] = {"offset": offset, "plain": plain}
            chunk = api(client, "GET", f"/api/v1/sessions/{ref}/logs", params=params)
            if chunk["data"]:
                typer.echo(chunk["data"], nl=False)
            offset = chunk["offset"]
            if chunk["finished"] or not (follow or chunk["data"]):
                return
            if not chunk["data"]:
                time.sleep(0.5)


@app.command("terminate")
def terminate(
    ref: Annotated[str, typer.Argument(help="name or id")], output: Output = OutputOption
) -> None:
    """End a session (a pending one is cancelled)."""
    with authed() as client:
        _show(api(client, "DELETE", f"/api/v1/sessions/{ref}"), output)


def _slots(resources: dict[str, str]) -> str:
    return " ".join(f"{slot}={amount}" for slot, amount in sorted(resources.items()))


def _show(session: dict[str, Any], output: Output) -> None:
    if output is Output.JSON:
        print_json(session)
        return
    console.print(f"[bold]{session['name']}[/bold] {session['id']}", highlight=False)
    console.print(f"status:   {session['status']} — {session['status_info']}", highlight=False)
    console.print(f"type:     {session['type']} ({session['environment']})", highlight=False)
    console.print(
        f"where:    {session['project']} / {session['resource_group']}"
        f"{' / ' + session['agent'] if session['agent'] else ''}",
        highlight=False,
    )
    console.print(f"requests: {_slots(session['resources'])}", highlight=False)
    if session["exit_code"] is not None:
        console.print(f"exit:     {session['exit_code']}", highlight=False)
    for index, mount in enumerate(session.get("mounts", [])):
        label = "folders: " if index == 0 else "          "
        mode = "ro" if mount["read_only"] else "rw"
        line = f"{mount['name']} at /home/work/{mount['name']} ({mode})"
        console.print(f"{label}{escape(line)}", highlight=False)
