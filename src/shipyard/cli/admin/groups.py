"""`shipyard admin resource-group ...`: resource groups and the projects that may use them."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from shipyard.cli.admin.agents import print_agents
from shipyard.cli.choices import NetworkMode, Placement
from shipyard.cli.http import once, segment
from shipyard.cli.output import Output, OutputOption, console, fail, print_json

app = typer.Typer(help="Resource groups (groups of agents).", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="the group's name")]
NETWORK_HELP = "outbound: the internet, never the host or private ranges; none: loopback only"
AllowOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow",
        metavar="ENTRY",
        help="a site service sessions may reach: NETWORK (10.1.2.0/24) or NETWORK:PORT "
        "(10.1.2.3:443); repeat for more",
    ),
]
BASE = "/api/v1/admin/resource-groups"


def _path(name: str, action: str = "") -> str:
    return f"{BASE}/{segment(name)}" + (f"/{action}" if action else "")


def _slots(group: dict[str, Any]) -> str:
    return ", ".join(f"{figure['slot']} {figure['shown']}" for figure in group["slots"])


def _allowed(group: dict[str, Any]) -> str:
    return ", ".join(group["network_allow"]) or "-"


def _print(group: dict[str, Any], output: Output) -> None:
    if output is Output.JSON:
        print_json(group)
        return
    table = Table(show_header=False, box=None)
    rows = [
        ("name", group["name"]),
        ("description", group["description"]),
        ("active", "yes" if group["is_active"] else "no"),
        ("placement", group["placement"]),
        ("network", group["network_mode"]),
        ("allowed site services", _allowed(group)),
        ("agents", f"{group['agents_alive']} alive of {group['agents_total']}"),
        ("used / capacity", _slots(group)),
        ("projects", ", ".join(group["projects"]) or "-"),
    ]
    for key, value in rows:
        table.add_row(key, escape(str(value)))
    console.print(table)


@app.command("list")
def list_(output: Output = OutputOption) -> None:
    """Every group with its agents, used vs capacity and allowed projects."""
    found = once("GET", BASE)
    if output is Output.JSON:
        print_json(found)
        return
    table = Table(
        "NAME", "ACTIVE", "PLACEMENT", "NETWORK", "ALLOWED", "AGENTS", "USED / CAPACITY",
        "PROJECTS",
    )  # fmt: skip
    for group in found["data"]:
        table.add_row(
            escape(group["name"]), "yes" if group["is_active"] else "no", group["placement"],
            group["network_mode"], escape(_allowed(group)),
            f"{group['agents_alive']}/{group['agents_total']}", escape(_slots(group)),
            escape(", ".join(group["projects"]) or "-"),
        )  # fmt: skip
    console.print(table)


@app.command("create")
def create(
    name: NameArg,
    description: Annotated[str, typer.Option("--description")] = "",
    placement: Annotated[Placement, typer.Option("--placement")] = Placement.BINPACK,
    inactive: Annotated[bool, typer.Option("--inactive", help="create it inactive")] = False,
    network: Annotated[
        NetworkMode, typer.Option("--network", help=NETWORK_HELP)
    ] = NetworkMode.OUTBOUND,
    allow: AllowOption = None,
    output: Output = OutputOption,
) -> None:
    """A new resource group (name: letters, digits, . _ -)."""
    body = {
        "name": name,
        "description": description,
        "placement": placement.value,
        "is_active": not inactive,
        "network_mode": network.value,
        "network_allow": allow or [],
    }
    _print(once("POST", BASE, json=body), output)


@app.command("update")
def update(
    name: NameArg,
    description: Annotated[str | None, typer.Option("--description")] = None,
    placement: Annotated[Placement | None, typer.Option("--placement")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="the default group stays active")
    ] = None,
    network: Annotated[NetworkMode | None, typer.Option("--network", help=NETWORK_HELP)] = None,
    allow: AllowOption = None,
    clear_allow: Annotated[
        bool, typer.Option("--clear-allow", help="sessions may reach no site service")
    ] = False,
    output: Output = OutputOption,
) -> None:
    """Change the description, placement, whether the group is active, or its network.

    --allow replaces the whole allow-list; network changes reach sessions started afterwards.
    """
    if allow and clear_allow:
        fail("Give --allow or --clear-allow, not both.")
    body: dict[str, Any] = {}
    if description is not None:
        body["description"] = description
    if placement is not None:
        body["placement"] = placement.value
    if active is not None:
        body["is_active"] = active
    if network is not None:
        body["network_mode"] = network.value
    if allow or clear_allow:
        body["network_allow"] = allow or []
    _print(once("PATCH", _path(name), json=body), output)


@app.command("show")
def show(name: NameArg, output: Output = OutputOption) -> None:
    """One group: description, placement, network, agents, use and allowed projects."""
    _print(once("GET", _path(name)), output)


@app.command("projects")
def projects(
    name: NameArg,
    project: Annotated[
        list[str] | None,
        typer.Option("--project", "-p", help="a project that may use the group (repeat)"),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="no project may use it")] = False,
    output: Output = OutputOption,
) -> None:
    """Show, or with --project/--clear set, the projects that may use the group."""
    if project or clear:
        group = once("PUT", _path(name, "projects"), json={"projects": project or []})
    else:
        group = once("GET", _path(name))
    if output is Output.JSON:
        print_json(group["projects"])
        return
    for project_name in group["projects"]:
        typer.echo(project_name)


@app.command("agents")
def agents(name: NameArg, output: Output = OutputOption) -> None:
    """The agents of the group."""
    print_agents({"group": name}, output)
