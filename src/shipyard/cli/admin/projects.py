"""`shipyard admin project ...`: projects, their members, policy and resource groups."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from shipyard.cli.http import once, segment
from shipyard.cli.output import Output, OutputOption, console, fail, print_json, say

app = typer.Typer(help="Projects: members, resource policy, resource groups.", no_args_is_help=True)
member = typer.Typer(help="Project members.", no_args_is_help=True)
app.add_typer(member, name="member")

RefArg = Annotated[str, typer.Argument(help="project name or id")]
EmailArg = Annotated[str, typer.Argument(help="the member's email")]
ROLES = ("owner", "member")


def _path(ref: str, *rest: str) -> str:
    return "/".join(["/api/v1/admin/projects", segment(ref), *(segment(r) for r in rest)])


def _usage(project: dict[str, Any]) -> str:
    return ", ".join(f"{slot}={amount}" for slot, amount in project["usage"].items()) or "-"


def _show(project: dict[str, Any], output: Output) -> None:
    if output is Output.JSON:
        print_json(project)
        return
    policy = project["resource_policy"]["name"] + ("" if project["own_policy"] else " (default)")
    for label, value in (
        ("name", project["name"]),
        ("description", project["description"] or "-"),
        ("active", "yes" if project["is_active"] else "no"),
        ("members", str(project["member_count"])),
        ("policy", policy),
        ("resource groups", ", ".join(project["resource_groups"]) or "-"),
        ("in use", f"{_usage(project)} ({project['sessions']} session(s))"),
    ):
        say(f"{label:>16}: {value}")


@app.command("list")
def list_(
    search: Annotated[str, typer.Option("--search", "-s", help="part of name or description")] = "",
    page: Annotated[int, typer.Option("--page", min=1)] = 1,
    output: Output = OutputOption,
) -> None:
    """Projects with members, policy, resource groups and what they use now."""
    found = once("GET", "/api/v1/admin/projects", params={"search": search, "page": page})
    if output is Output.JSON:
        print_json(found)
        return
    table = Table("NAME", "ACTIVE", "MEMBERS", "POLICY", "RESOURCE GROUPS", "IN USE")
    for p in found["data"]:
        table.add_row(
            p["name"], "yes" if p["is_active"] else "no", str(p["member_count"]),
            p["resource_policy"]["name"], ", ".join(p["resource_groups"]), _usage(p),
        )  # fmt: skip
    console.print(table)
    say(f"{found['count']} project(s)")


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="letters, digits, . _ - (up to 64)")],
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    policy: Annotated[str | None, typer.Option("--policy", help="project policy")] = None,
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="resource group (repeat)")
    ] = None,
    output: Output = OutputOption,
) -> None:
    """Create a project (it may use the default resource group unless --group says otherwise)."""
    body: dict[str, Any] = {"name": name, "description": description, "resource_policy": policy}
    if group:
        body["resource_groups"] = group
    _show(once("POST", "/api/v1/admin/projects", json=body), output)


@app.command("show")
def show(ref: RefArg, output: Output = OutputOption) -> None:
    """One project."""
    _show(once("GET", _path(ref)), output)


@app.command("update")
def update(
    ref: RefArg,
    name: Annotated[str | None, typer.Option("--name", help="new name")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    active: Annotated[
        bool | None,
        typer.Option(
            "--active/--inactive",
            help="--inactive cancels pending sessions and refuses new ones; running ones stay",
        ),
    ] = None,
    policy: Annotated[
        str | None, typer.Option("--policy", help="project policy; 'default' for the default")
    ] = None,
    output: Output = OutputOption,
) -> None:
    """Change a project's name, description, active state or policy."""
    body: dict[str, Any] = {}
    for key, value in (("name", name), ("description", description), ("is_active", active)):
        if value is not None:
            body[key] = value
    if policy is not None:
        body["resource_policy"] = None if policy in ("", "default") else policy
    if not body:
        fail("nothing to change: give --name, --description, --active/--inactive or --policy")
    _show(once("PATCH", _path(ref), json=body), output)


@app.command("groups")
def groups(
    ref: RefArg,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="allow exactly these resource groups (repeat)"),
    ] = None,
    output: Output = OutputOption,
) -> None:
    """Show the resource groups a project may use, or set them with --set."""
    if set_:
        project = once("PATCH", _path(ref), json={"resource_groups": set_})
    else:
        project = once("GET", _path(ref))
    if output is Output.JSON:
        print_json({"project": project["name"], "resource_groups": project["resource_groups"]})
        return
    say(f"{project['name']}: {', '.join(project['resource_groups']) or '-'}")


@member.command("list")
def member_list(ref: RefArg, output: Output = OutputOption) -> None:
    """The project's members."""
    found = once("GET", _path(ref, "members"), params={"per_page": 500})
    if output is Output.JSON:
        print_json(found)
        return
    table = Table("EMAIL", "NAME", "ROLE", "ACTIVE")
    for m in found["data"]:
        table.add_row(m["email"], m["full_name"], m["role"], "yes" if m["active"] else "no")
    console.print(table)
    say(f"{found['count']} member(s)")


def _role(role: str) -> str:
    if role not in ROLES:
        fail(f"role must be one of: {', '.join(ROLES)}")
    return role


@member.command("add")
def member_add(
    ref: RefArg,
    email: EmailArg,
    role: Annotated[str, typer.Option("--role", help="owner or member")] = "member",
    output: Output = OutputOption,
) -> None:
    """Add an active user to the project."""
    added = once("POST", _path(ref, "members"), json={"email": email, "role": _role(role)})
    if output is Output.JSON:
        print_json(added)
        return
    say(f"{added['email']} added to {ref} as {added['role']}")


@member.command("role")
def member_role(
    ref: RefArg,
    email: EmailArg,
    role: Annotated[str, typer.Argument(help="owner or member")],
    output: Output = OutputOption,
) -> None:
    """Change a member's role."""
    changed = once("PATCH", _path(ref, "members", email), json={"role": _role(role)})
    if output is Output.JSON:
        print_json(changed)
        return
    say(f"{changed['email']} is now {changed['role']} of {ref}")


@member.command("remove")
def member_remove(ref: RefArg, email: EmailArg, output: Output = OutputOption) -> None:
    """Remove a member (their running sessions keep running)."""
    once("DELETE", _path(ref, "members", email))
    if output is Output.JSON:
        print_json({"project": ref, "removed": email})
        return
    say(f"{email} removed from {ref}")
