"""`shipyard admin ...`: administration through the API (admins only)."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli.client import ApiError, authed, call
from shipyard.cli.output import Output, OutputOption, console, fail, print_json

app = typer.Typer(help="Administration (admins only).", no_args_is_help=True)
agent_tokens = typer.Typer(help="Tokens agents register with.", no_args_is_help=True)
app.add_typer(agent_tokens, name="agent-token")


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
