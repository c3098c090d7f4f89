"""`shipyard admin environment ...`: the environments sessions run in."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shipyard.cli.http import once, segment
from shipyard.cli.output import Output, OutputOption, console, print_json

app = typer.Typer(help="Environments sessions run in.", no_args_is_help=True)


@app.command("list")
def list_environments(output: Output = OutputOption) -> None:
    """Every environment, enabled or not."""
    found = once("GET", "/api/v1/admin/environments")
    if output is Output.JSON:
        print_json(found)
        return
    table = Table("NAME", "ENABLED", "SOURCE", "INTERPRETER", "APPS")
    for env in found["data"]:
        table.add_row(
            escape(env["name"]), "yes" if env["enabled"] else "no", env["source"],
            escape(env["interpreter"]), ", ".join(env["apps"]),
        )  # fmt: skip
    console.print(table)


@app.command("add")
def add_environment(
    name: str,
    interpreter: Annotated[str, typer.Option("--interpreter", help="absolute path")] = "",
    description: Annotated[str, typer.Option("--description")] = "",
    output: Output = OutputOption,
) -> None:
    """Register an environment (an interpreter offered in sessions, with a terminal)."""
    body = {"name": name, "interpreter": interpreter, "description": description}
    created = once("POST", "/api/v1/admin/environments", json=body)
    if output is Output.JSON:
        print_json(created)
        return
    console.print(f"environment {escape(name)} added", highlight=False)


def _set_enabled(name: str, enabled: bool, output: Output) -> None:
    path = f"/api/v1/admin/environments/{segment(name)}"
    env = once("PATCH", path, json={"enabled": enabled})
    if output is Output.JSON:
        print_json(env)
        return
    state = "enabled" if env["enabled"] else "disabled: new sessions cannot use it"
    console.print(f"environment {escape(env['name'])} {state}", highlight=False)


@app.command("enable")
def enable_environment(name: str, output: Output = OutputOption) -> None:
    """Offer the environment to new sessions again."""
    _set_enabled(name, True, output)


@app.command("disable")
def disable_environment(name: str, output: Output = OutputOption) -> None:
    """New sessions can no longer use the environment; running ones go on."""
    _set_enabled(name, False, output)


@app.command("rescan")
def rescan_environments(output: Output = OutputOption) -> None:
    """Discover virtual environments under the configured environment_dirs."""
    report = once("POST", "/api/v1/admin/environments/rescan")
    if output is Output.JSON:
        print_json(report)
        return
    console.print(
        f"added: {', '.join(report['added']) or '-'}; kept: {', '.join(report['kept']) or '-'}; "
        f"disabled: {', '.join(report['disabled']) or '-'}",
        highlight=False,
    )
