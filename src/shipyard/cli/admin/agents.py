"""`shipyard admin agent ...`: agents: list, drain, undrain, move to another group."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from shipyard.cli.choices import AgentStatus
from shipyard.cli.http import once, segment
from shipyard.cli.output import Output, OutputOption, console, print_json

app = typer.Typer(help="Agents (the nodes sessions run on).", no_args_is_help=True)

AgentArg = Annotated[str, typer.Argument(help="the agent's id")]


def _path(agent_id: str) -> str:
    return f"/api/v1/admin/agents/{segment(agent_id)}"


def _slots(agent: dict[str, Any]) -> str:
    return ", ".join(f"{figure['slot']} {figure['shown']}" for figure in agent["slots"])


def print_agents(params: dict[str, Any], output: Output) -> None:
    found = once("GET", "/api/v1/admin/agents", params=params)
    if output is Output.JSON:
        print_json(found)
        return
    table = Table("ID", "GROUP", "STATUS", "SCHEDULABLE", "USED / CAPACITY", "SESSIONS", "SANDBOX")
    for agent in found["data"]:
        table.add_row(
            escape(agent["id"]), escape(agent["resource_group"]), agent["status"],
            "yes" if agent["schedulable"] else "no (draining)", escape(_slots(agent)),
            str(agent["sessions"]), escape(str(agent["enforcement"].get("sandbox", "?"))),
        )  # fmt: skip
    console.print(table)
    if found["count"] > len(found["data"]):
        console.print(f"{len(found['data'])} of {found['count']} agents: use --offset for more")


@app.command("list")
def list_(
    group: Annotated[str, typer.Option("--group", "-g", help="one resource group")] = "",
    status: Annotated[AgentStatus | None, typer.Option("--status")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    output: Output = OutputOption,
) -> None:
    """Agents with their occupancy, status and whether they get new sessions."""
    params: dict[str, Any] = {"group": group, "limit": limit, "offset": offset}
    if status:
        params["status"] = status.value
    print_agents(params, output)


def _change(agent_id: str, body: dict[str, Any], output: Output, message: str) -> None:
    agent = once("PATCH", _path(agent_id), json=body)
    if output is Output.JSON:
        print_json(agent)
        return
    console.print(message, highlight=False)


@app.command("drain")
def drain(agent_id: AgentArg, output: Output = OutputOption) -> None:
    """No new sessions on this agent; its running sessions go on."""
    _change(agent_id, {"schedulable": False}, output, f"agent {escape(agent_id)} is draining")


@app.command("undrain")
def undrain(agent_id: AgentArg, output: Output = OutputOption) -> None:
    """The agent gets new sessions again."""
    message = f"agent {escape(agent_id)} gets new sessions again"
    _change(agent_id, {"schedulable": True}, output, message)


@app.command("move")
def move(
    agent_id: AgentArg,
    group: Annotated[str, typer.Argument(help="the new resource group")],
    output: Output = OutputOption,
) -> None:
    """Move an agent without sessions to another group (restart it with that group's token)."""
    message = f"agent {escape(agent_id)} moved to {escape(group)}"
    _change(agent_id, {"resource_group": group}, output, message)
