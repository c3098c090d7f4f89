"""`shipyard admin agent-token ...`: the tokens agents register with."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shipyard.cli.http import once, segment
from shipyard.cli.output import Output, OutputOption, console, print_json

app = typer.Typer(help="Tokens agents register with.", no_args_is_help=True)


@app.command("create")
def create_agent_token(
    resource_group: Annotated[str, typer.Option("--resource-group")] = "default",
    output: Output = OutputOption,
) -> None:
    """A token for `shipyard agent --token`; shown once."""
    body = {"resource_group": resource_group}
    issued = once("POST", "/api/v1/admin/agent-tokens", json=body)
    if output is Output.JSON:
        print_json(issued)
        return
    console.print(f"agent token for resource group {issued['resource_group']} (shown once):")
    typer.echo(issued["token"])


@app.command("list")
def list_agent_tokens(output: Output = OutputOption) -> None:
    """Agent tokens, newest first (their prefixes only), revoked ones included."""
    found = once("GET", "/api/v1/admin/agent-tokens")
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


@app.command("revoke")
def revoke_agent_token(
    token_id: Annotated[str, typer.Argument(help="the token's id (see `agent-token list`)")],
    output: Output = OutputOption,
) -> None:
    """Agents can no longer register or report with this token."""
    token = once("DELETE", f"/api/v1/admin/agent-tokens/{segment(token_id)}")
    if output is Output.JSON:
        print_json(token)
        return
    console.print(f"agent token {escape(token['prefix'])}… revoked", highlight=False)
