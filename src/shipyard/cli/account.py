"""`shipyard login`, `logout` and `whoami`: personal API tokens for the CLI."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import httpx
import typer

from shipyard.cli import credentials
from shipyard.cli.http import ApiError, api, call, make_client
from shipyard.cli.output import Output, OutputOption, console, fail, print_json


def login(
    endpoint: Annotated[
        str, typer.Option("--endpoint", envvar=credentials.ENDPOINT_ENV, help="manager URL")
    ] = "http://127.0.0.1:8090",
    email: Annotated[str, typer.Option("--email", prompt=True, help="your login email")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    otp: Annotated[
        str | None,
        typer.Option("--otp", help="one-time password (or recovery code) if 2FA is on"),
    ] = None,
) -> None:
    """Log in and store a personal API token (mode 0600) for later commands.

    With two-factor login on, the one-time password is asked for (or given with --otp).
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True)
    with make_client(endpoint) as client:
        body = _log_in(client, email=email, password=password, otp=otp)
    where = credentials.save(
        credentials.Credentials(endpoint=endpoint, token=body["token"], email=body["user"]["email"])
    )
    console.print(f"Logged in to {endpoint} as {body['user']['email']}; token stored in {where}")


def _log_in(client: httpx.Client, *, email: str, password: str, otp: str | None) -> Any:
    """The issued token; asks for the one-time password when the server says it is needed."""
    payload: dict[str, Any] = {"email": email, "password": password, "token_name": "cli"}
    if otp:
        payload["otp"] = otp
    try:
        return call(client, "POST", "/api/v1/auth/login", json=payload)
    except ApiError as exc:
        if exc.code != "otp_required" or otp:
            fail(exc.message)
    payload["otp"] = typer.prompt("One-time password").strip()
    return api(client, "POST", "/api/v1/auth/login", json=payload)


def logout() -> None:
    """Revoke the stored API token on the server and forget it here."""
    creds = credentials.load()
    if creds is None:
        fail("not logged in")
    with make_client(creds.endpoint, creds.token) as client:
        try:
            call(client, "DELETE", "/api/v1/auth/token")
        except ApiError as exc:
            if exc.status != 401:
                credentials.forget()
                fail(f"forgot the local token, but the server did not revoke it: {exc.message}")
    credentials.forget()
    console.print("Logged out; the token is revoked.")


def whoami(output: Output = OutputOption) -> None:
    """Show the logged-in user and their projects."""
    creds = credentials.load()
    if creds is None:
        fail("not logged in: run `shipyard login` or set SHIPYARD_ENDPOINT and SHIPYARD_TOKEN")
    with make_client(creds.endpoint, creds.token) as client:
        me = api(client, "GET", "/api/v1/me")
    if output is Output.JSON:
        print_json(me)
        return
    current = me["current_project"]["name"] if me["current_project"] else "-"
    console.print(f"{me['user']['email']} ({me['user']['role']}) at {creds.endpoint}")
    console.print(f"projects: {', '.join(p['name'] for p in me['projects'])}; current: {current}")
