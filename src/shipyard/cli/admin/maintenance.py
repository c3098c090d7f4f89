"""`shipyard admin maintenance ...`: recalculate usage, rescan environments, follow tasks."""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from shipyard.cli.http import api, authed
from shipyard.cli.output import Output, OutputOption, console, print_json, say
from shipyard.i18n import _
from shipyard.resources.slots import humanize

app = typer.Typer(help="Recalculate usage, rescan environments.", no_args_is_help=True)
TASKS = "/api/v1/admin/tasks"
ENDED = ("succeeded", "failed", "interrupted")
WaitOption = Annotated[
    bool, typer.Option("--wait", "-w", help="show progress until it ends, then the result")
]
POLL_SECONDS = 0.5


def _start(kind: str, wait: bool, output: Output) -> None:
    with authed() as client:
        task = api(client, "POST", TASKS, json={"kind": kind})
        if wait:
            task = _follow(client, task, quiet=output is Output.JSON)
    _show(task, output)
    if task["state"] in ("failed", "interrupted"):
        raise typer.Exit(1)


def _follow(client: httpx.Client, task: dict[str, Any], *, quiet: bool) -> dict[str, Any]:
    """Poll the task until it ends, with a progress bar for people."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True, disable=quiet) as bar:
        shown = bar.add_task(task["kind"], total=task["total"] or None)
        while task["state"] not in ENDED:
            time.sleep(POLL_SECONDS)
            task = api(client, "GET", f"{TASKS}/{task['id']}")
            bar.update(shown, completed=task["progress"], total=task["total"] or None)
    return task


@app.command("recalculate")
def recalculate(wait: WaitOption = False, output: Output = OutputOption) -> None:
    """Rebuild the usage ledger from the sessions; reports every drift it corrected."""
    _start("recalculate_usage", wait, output)


@app.command("rescan")
def rescan(wait: WaitOption = False, output: Output = OutputOption) -> None:
    """Look for virtual environments in the configured directories."""
    _start("rescan_environments", wait, output)


@app.command("tasks")
def tasks(output: Output = OutputOption) -> None:
    """Recent maintenance tasks, newest first."""
    with authed() as client:
        page = api(client, "GET", TASKS)
    if output is Output.JSON:
        print_json(page)
        return
    table = Table(_("ID"), _("TASK"), _("STATE"), _("PROGRESS"), _("STARTED"), _("BY"))
    for task in page["data"]:
        table.add_row(
            task["id"],
            task["kind"],
            task["state"],
            f"{task['progress']}/{task['total']}",
            task["created_at"][:19].replace("T", " "),
            escape(task["started_by"] or ""),
        )
    console.print(table)


@app.command("task")
def task(
    task_id: Annotated[str, typer.Argument(help="the task's id")],
    wait: WaitOption = False,
    output: Output = OutputOption,
) -> None:
    """One task: its state, progress and result."""
    with authed() as client:
        found = api(client, "GET", f"{TASKS}/{task_id}")
        if wait:
            found = _follow(client, found, quiet=output is Output.JSON)
    _show(found, output)


def _show(task: dict[str, Any], output: Output) -> None:
    if output is Output.JSON:
        print_json(task)
        return
    say(f"{task['kind']} {task['id']}: {task['state']} ({task['progress']}/{task['total']})")
    if task["state"] in ("failed", "interrupted"):
        say(task["message"])
    elif task["state"] == "succeeded" and task["kind"] == "recalculate_usage":
        _drifts(task["result"].get("drifts", []))
    elif task["state"] == "succeeded":
        for key in ("added", "kept", "disabled"):
            say(f"{key}: {', '.join(task['result'].get(key, [])) or '-'}")


def _drifts(drifts: list[dict[str, str]]) -> None:
    if not drifts:
        say(_("No drift: the ledger matched the sessions."))
        return
    table = Table(_("SCOPE"), _("NAME"), _("SLOT"), _("RECORDED"), _("ACTUAL"))
    for drift in drifts:
        slot = drift["slot"]
        table.add_row(
            drift["scope"],
            escape(drift["name"]),
            slot,
            _amount(slot, drift["recorded"]),
            _amount(slot, drift["actual"]),
        )
    console.print(table)
    say(_("%(count)d drift(s) corrected.") % {"count": len(drifts)})


def _amount(slot: str, text: str) -> str:
    try:
        return humanize(slot, Decimal(text))
    except InvalidOperation:
        return text
