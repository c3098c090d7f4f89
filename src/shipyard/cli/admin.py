"""`shipyard admin ...`: administration through the API (admins only)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer
from rich.markup import escape
from rich.table import Table

from shipyard.cli import (
    admin_agents,
    admin_announcement,
    admin_groups,
    admin_maintenance,
    admin_policies,
    admin_projects,
    admin_users,
)
from shipyard.cli.admin_calls import admin_call
from shipyard.cli.output import Output, OutputOption, console, print_json

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
app.add_typer(admin_agents.app, name="agent")


@agent_tokens.command("create")
def create_agent_token(
    resource_group: Annotated[str, typer.Option("--resource-group")] = "default",
    output: Output = OutputOption,
) -> None:
    """A token for `shipyard agent --token`; shown once."""
    body = {"resource_group": resource_group}
    issued = admin_call("POST", "/api/v1/admin/agent-tokens", json=body)
    if output is Output.JSON:
        print_json(issued)
        return
    console.print(f"agent token for resource group {issued['resource_group']} (shown once):")
    typer.echo(issued["token"])


@agent_tokens.command("list")
def list_agent_tokens(output: Output = OutputOption) -> None:
    """Agent tokens, newest first (their prefixes only), revoked ones included."""
    found = admin_call("GET", "/api/v1/admin/agent-tokens")
    if output is Output.JSON:
        print_json(found)
        return
    table = Table("ID", "PREFIX", "GROUP", "CREATED BY", "CREATED", "REVOKED")
    for token in found["data"]:
        table.add_row(
            token["id"], escape(token["prefix"]) + "…", escape(token["resource_group"]),
            escape(token["created_by"] or "-"), token["created_at"], token["revoked_at"] or "-",
        )  # fmt: skip
    console.print(table)


@agent_tokens.command("revoke")
def revoke_agent_token(
    token_id: Annotated[str, typer.Argument(help="the token's id (see `agent-token list`)")],
    output: Output = OutputOption,
) -> None:
    """Agents can no longer register or report with this token."""
    token = admin_call("DELETE", f"/api/v1/admin/agent-tokens/{quote(token_id, safe='')}")
    if output is Output.JSON:
        print_json(token)
        return
    console.print(f"agent token {escape(token['prefix'])}… revoked", highlight=False)


@envs.command("list")
def list_environments(output: Output = OutputOption) -> None:
    """Every environment, enabled or not."""
    found = admin_call("GET", "/api/v1/admin/environments")
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


@envs.command("add")
def add_environment(
    name: str,
    interpreter: Annotated[str, typer.Option("--interpreter", help="absolute path")] = "",
    description: Annotated[str, typer.Option("--description")] = "",
    output: Output = OutputOption,
) -> None:
    """Register an environment (an interpreter offered in sessions, with a terminal)."""
    body = {"name": name, "interpreter": interpreter, "description": description}
    created = admin_call("POST", "/api/v1/admin/environments", json=body)
    if output is Output.JSON:
        print_json(created)
        return
    console.print(f"environment {escape(name)} added", highlight=False)


def _set_enabled(name: str, enabled: bool, output: Output) -> None:
    path = f"/api/v1/admin/environments/{quote(name, safe='')}"
    env = admin_call("PATCH", path, json={"enabled": enabled})
    if output is Output.JSON:
        print_json(env)
        return
    state = "enabled" if env["enabled"] else "disabled: new sessions cannot use it"
    console.print(f"environment {escape(env['name'])} {state}", highlight=False)


@envs.command("enable")
def enable_environment(name: str, output: Output = OutputOption) -> None:
    """Offer the environment to new sessions again."""
    _set_enabled(name, True, output)


@envs.command("disable")
def disable_environment(name: str, output: Output = OutputOption) -> None:
    """New sessions can no longer use the environment; running ones go on."""
    _set_enabled(name, False, output)


@envs.command("rescan")
def rescan_environments(output: Output = OutputOption) -> None:
    """Discover virtual environments under the configured environment_dirs."""
    report = admin_call("POST", "/api/v1/admin/environments/rescan")
    if output is Output.JSON:
        print_json(report)
        return
    console.print(
        f"added: {', '.join(report['added']) or '-'}; kept: {', '.join(report['kept']) or '-'}; "
        f"disabled: {', '.join(report['disabled']) or '-'}",
        highlight=False,
    )
