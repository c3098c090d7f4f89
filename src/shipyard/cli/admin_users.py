"""`shipyard admin user ...`: user accounts (admins only)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer

from shipyard.cli.client import ApiError, authed, call
from shipyard.cli.output import Output, OutputOption, console, fail, print_json

app = typer.Typer(help="User accounts.", no_args_is_help=True)


def _admin_call(method: str, path: str, **kwargs: Any) -> Any:
    with authed() as client:
        try:
            return call(client, method, path, **kwargs)
        except ApiError as exc:
            fail(exc.message)
            raise AssertionError from exc  # unreachable: fail() exits


@app.command("reset-2fa")
def reset_two_factor(
    user: Annotated[str, typer.Argument(help="the user's email (or id)")],
    output: Output = OutputOption,
) -> None:
    """Turn off a user's two-factor login (a lost phone); they log in with the password alone."""
    found = _admin_call("POST", f"/api/v1/admin/users/{quote(user, safe='@')}/reset-2fa")
    if output is Output.JSON:
        print_json(found)
        return
    console.print(f"two-factor login of {found['email']} is off; it can be set up again")
