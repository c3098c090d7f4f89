"""`shipyard admin user ...`: user accounts (admins only)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.markup import escape
from rich.table import Table

from shipyard.cli.choices import Role, UserStatus
from shipyard.cli.http import once
from shipyard.cli.output import Output, OutputOption, console, fail, print_json

app = typer.Typer(help="User accounts.", no_args_is_help=True)

UserArg = Annotated[str, typer.Argument(help="the user's email (or id)")]
RoleOpt = Annotated[Role | None, typer.Option("--role", help="superadmin, admin or user")]
PolicyOpt = Annotated[
    str | None, typer.Option("--policy", help="a user resource policy (name or id); '' = default")
]


def _path(user: str, action: str = "") -> str:
    return f"/api/v1/admin/users/{quote(user, safe='@')}" + (f"/{action}" if action else "")


def _projects(user: dict[str, Any]) -> str:
    return ", ".join(
        p["name"] + (" (owner)" if p["role"] == "owner" else "") for p in user["projects"]
    )


def _show(user: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    rows = [
        ("email", user["email"]),
        ("name", user["full_name"]),
        ("id", user["id"]),
        ("role", user["role"]),
        ("status", user["status"]),
        ("2fa", "on" if user["totp_enabled"] else "off"),
        ("policy", user["resource_policy"]["name"]),
        ("projects", _projects(user)),
        ("created", user["created_at"]),
    ]
    for key, value in rows:
        table.add_row(key, escape(str(value)))
    console.print(table)


@app.command("list")
def list_(
    search: Annotated[str, typer.Option("--search", "-s", help="in emails and names")] = "",
    role: RoleOpt = None,
    status: Annotated[UserStatus | None, typer.Option("--status")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    output: Output = OutputOption,
) -> None:
    """Users by email, with a search and filters."""
    params: dict[str, Any] = {"search": search, "limit": limit, "offset": offset}
    if role:
        params["role"] = role.value
    if status:
        params["status"] = status.value
    found = once("GET", "/api/v1/admin/users", params=params)
    if output is Output.JSON:
        print_json(found)
        return
    table = Table("EMAIL", "NAME", "ROLE", "STATUS", "2FA", "POLICY", "PROJECTS")
    for user in found["data"]:
        table.add_row(
            *(
                escape(str(value))
                for value in (
                    user["email"],
                    user["full_name"],
                    user["role"],
                    user["status"],
                    "on" if user["totp_enabled"] else "off",
                    user["resource_policy"]["name"],
                    _projects(user),
                )
            )
        )
    console.print(table)
    shown = len(found["data"])
    console.print(f"{offset + 1 if shown else 0}-{offset + shown} of {found['count']}")


@app.command()
def create(
    email: Annotated[str, typer.Argument(help="the new user's email")],
    name: Annotated[str, typer.Option("--name", help="full name")] = "",
    role: RoleOpt = None,
    password: Annotated[
        str | None, typer.Option("--password", help="the password to set (else: prompted)")
    ] = None,
    generate: Annotated[
        bool, typer.Option("--generate-password", help="generate one, printed once")
    ] = False,
    policy: PolicyOpt = None,
    project: Annotated[
        list[str] | None, typer.Option("--project", help="a project (name[:owner]); repeatable")
    ] = None,
    output: Output = OutputOption,
) -> None:
    """Create a user; they also belong to the default project."""
    if not generate and password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    body = {
        "email": email,
        "full_name": name,
        "role": (role or Role.USER).value,
        "password": password,
        "generate_password": generate,
        "resource_policy": policy or None,
        "projects": [_membership(ref) for ref in project or []],
    }
    created = once("POST", "/api/v1/admin/users", json=body)
    if output is Output.JSON:
        print_json(created)
        return
    console.print(f"created {escape(created['email'])} ({created['role']})")
    if created["generated_password"]:
        console.print(f"password (shown once): {escape(created['generated_password'])}")


def _membership(ref: str) -> dict[str, str]:
    name, _sep, role = ref.rpartition(":")
    if role in ("owner", "member") and name:
        return {"project": name, "role": role}
    return {"project": ref, "role": "member"}


@app.command()
def show(user: UserArg, output: Output = OutputOption) -> None:
    """A user's details."""
    found = once("GET", _path(user))
    if output is Output.JSON:
        print_json(found)
        return
    _show(found)


@app.command()
def update(
    user: UserArg,
    name: Annotated[str | None, typer.Option("--name", help="full name")] = None,
    role: RoleOpt = None,
    policy: PolicyOpt = None,
    project: Annotated[
        list[str] | None,
        typer.Option("--project", help="replace the projects (name[:owner]); repeatable"),
    ] = None,
    output: Output = OutputOption,
) -> None:
    """Change a user's name, role, policy or projects (only what is given)."""
    body: dict[str, Any] = {}
    if name is not None:
        body["full_name"] = name
    if role is not None:
        body["role"] = role.value
    if policy is not None:
        body["resource_policy"] = policy or None
    if project is not None:
        body["projects"] = [_membership(ref) for ref in project]
    if not body:
        fail("nothing to change: give --name, --role, --policy or --project")
    found = once("PATCH", _path(user), json=body)
    if output is Output.JSON:
        print_json(found)
        return
    _show(found)


@app.command()
def deactivate(user: UserArg, output: Output = OutputOption) -> None:
    """Deactivate a user: their sessions end, their logins and tokens are revoked, their
    pending invitations are cancelled; their folders and files stay."""
    done = once("POST", _path(user, "deactivate"))
    if output is Output.JSON:
        print_json(done)
        return
    console.print(
        f"{escape(done['user']['email'])} is inactive: {done['sessions_ended']} sessions ended, "
        f"{done['invitations_canceled']} invitations cancelled, "
        f"{done['api_tokens_revoked']} API tokens revoked"
    )


@app.command()
def activate(user: UserArg, output: Output = OutputOption) -> None:
    """Let a deactivated user log in again."""
    found = once("POST", _path(user, "activate"))
    if output is Output.JSON:
        print_json(found)
        return
    console.print(f"{escape(found['email'])} is active")


@app.command("reset-password")
def reset_password(
    user: UserArg,
    generate: Annotated[
        bool, typer.Option("--generate", help="generate one, printed once")
    ] = False,
    output: Output = OutputOption,
) -> None:
    """Set a new password (prompted, or generated); every login and token of theirs ends."""
    password = None
    if not generate:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    done = once(
        "POST", _path(user, "reset-password"), json={"password": password, "generate": generate}
    )
    if output is Output.JSON:
        print_json(done)
        return
    console.print(f"password of {escape(done['user']['email'])} reset")
    if done["generated_password"]:
        console.print(f"password (shown once): {escape(done['generated_password'])}")


@app.command("reset-2fa")
def reset_two_factor(user: UserArg, output: Output = OutputOption) -> None:
    """Turn off a user's two-factor login (a lost phone); they log in with the password alone."""
    found = once("POST", _path(user, "reset-2fa"))
    if output is Output.JSON:
        print_json(found)
        return
    console.print(f"two-factor login of {found['email']} is off; it can be set up again")
