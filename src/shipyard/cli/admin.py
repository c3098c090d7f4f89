"""`shipyard admin ...`: administration through the API (admins only)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from shipyard.cli import (
    admin_announcement,
    admin_groups,
    admin_maintenance,
    admin_policies,
    admin_projects,
    admin_users,
)
from shipyard.cli.client import ApiError, authed, call
from shipyard.cli.output import Output, OutputOption, console, fail, print_json

app = typer.Typer(help="Administration (admins only).", no_args_is_help=True)
agent_tokens = typer.Typer(help="Tokens agents register with.", no_args_is_help=True)
app.add_typer(agent_tokens, name="agent-token")
envs = typer.Typer(help="Environments sessions run in.", no_args_is_help=True)
app.add_typer(envs, name="environment")
app.add_typer(admin_users.app, name="user")
app.add_typer(admin_projects.app, name="project")
app.add_typer(admin_policies.app, name="policy")
app.add_typer(admin_groups.app, name="resource-group")
app.add_typer(admin_announcement.app, name="announcement")
app.add_typer(admin_maintenance.app, name="maintenance")


@agent_tokens.command("create")
def create_agent_token(
    resource_group: Annotated[str, typer.Option("--resource-group")] = "default",
    output: Output = OutputOption,
) -> None:
    """A token for `shipyard agent --token`; shown once."""
    with authed() as client:
        try:
            issued = call(
                client,
                "POST",
                "/api/v1/admin/agent-tokens",
                json={"resource_group": resource_group},
            )
        except ApiError as exc:
            fail(exc.message)
    if output is Output.JSON:
        print_json(issued)
        return
    console.print(f"agent token for resource group {issued['resource_group']} (shown once):")
    typer.echo(issued["token"])


def _admin_call(method: str, path: str, **kwargs: Any) -> Any:
    with authed() as client:
        try:
            return call(client, method, path, **kwargs)
        except ApiError as exc:
            fail(exc.message)
            raise AssertionError from exc  # unreachable: fail() exits


@envs.command("list")
def list_environments(output: Output = OutputOption) -> None:
    """Every environment, enabled or not."""
    found = _admin_call("GET", "/api/v1/admin/environments")
    if output is Output.JSON:
        print_json(found)
        return
    table = Table("NAME", "ENABLED", "SOURCE", "INTERPRETER", "APPS")
    for env in found:
        table.add_row(
            env["name"], "yes" if env["enabled"] else "no", env["source"], env["interpreter"],
            ", ".join(env["apps"]),
        )  # fmt: skip
    console.print(table)


@envs.command("add")
def add_environment(
    name: str,
    interpreter: Annotated[str, typer.Option("--interpreter", help="absolute path")] = "",
    description: Annotated[str, typer.Option("--description")] = "",
    output: Output = OutputOption,
) -> None:
    """Register an environment (an interpreter offered in sessions, with a terminal)."""
    body = {"name": name, "interpreter": interpreter, "description": description}
    created = _admin_call("POST", "/api/v1/admin/environments", json=body)
    if output is Output.JSON:
        print_json(created)
        return
    console.print(f"environment {name} added")


@envs.command("rescan")
def rescan_environments(output: Output = OutputOption) -> None:
    """Discover virtual environments under the configured environment_dirs."""
    found = _admin_call("POST", "/api/v1/admin/environments/rescan")
    if output is Output.JSON:
        print_json(found)
        return
    report = found
    console.print(
        f"added: {', '.join(report['added']) or '-'}; kept: {', '.join(report['kept']) or '-'}; "
        f"disabled: {', '.join(report['disabled']) or '-'}"
    )
