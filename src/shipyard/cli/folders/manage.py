"""`shipyard folder create / list / info / rename / delete`: the folders themselves."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import typer
from rich.table import Table

from shipyard.cli.folders.lookup import RefArg, folder_of, folder_path
from shipyard.cli.http import api, authed
from shipyard.cli.output import (
    Output,
    OutputOption,
    add_row,
    console,
    fail,
    human_bytes,
    print_json,
)
from shipyard.i18n import _

app = typer.Typer()
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]


class UsageMode(enum.StrEnum):
    GENERAL = "general"
    DATA = "data"
    MODEL = "model"


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="letters, digits, . _ - (up to 64)")],
    host: Annotated[str | None, typer.Option("--host", help="storage host")] = None,
    usage_mode: Annotated[UsageMode, typer.Option("--usage-mode")] = UsageMode.GENERAL,
    project: Annotated[str | None, typer.Option("--project", help="a project folder")] = None,
    output: Output = OutputOption,
) -> None:
    """Create a folder (yours, or a project's with --project)."""
    body: dict[str, Any] = {"name": name, "usage_mode": usage_mode.value}
    if host is not None:
        body["host"] = host
    if project is not None:
        body["project"] = project
    with authed() as client:
        _show(api(client, "POST", "/api/v1/folders", json=body), output)


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="every folder (administrators)")] = False,
    output: Output = OutputOption,
) -> None:
    """Your folders, your projects' folders and folders shared with you."""
    with authed() as client:
        page = api(client, "GET", "/api/v1/folders", params={"all": all_})
    if output is Output.JSON:
        print_json(page)
        return
    table = Table(_("NAME"), _("PERMISSION"), _("OWNER / SHARED BY"), _("USED / LIMIT"), _("HOST"))
    for folder in page["data"]:
        add_row(
            table,
            folder["name"],
            folder["permission"],
            _owner(folder),
            f"{human_bytes(folder['used_bytes'])} / {human_bytes(folder['max_size'])}",
            folder["host"],
        )
    console.print(table)
    limit = page["max_folder_count"]
    console.print(
        _("%(count)d folder(s); you own %(own)d of %(limit)s allowed")
        % {
            "count": page["count"],
            "own": page["own_count"],
            "limit": "∞" if limit is None else limit,
        },
        highlight=False,
        markup=False,
    )


@app.command("info")
def info(ref: RefArg, output: Output = OutputOption) -> None:
    """One folder: owner, your permission, usage and limit."""
    with authed() as client:
        _show(folder_of(client, ref), output)


@app.command("rename")
def rename(
    ref: RefArg,
    new_name: Annotated[str, typer.Argument(help="the new name")],
    output: Output = OutputOption,
) -> None:
    """Rename your folder; for a folder shared with you, only your name for it."""
    with authed() as client:
        _show(api(client, "PATCH", folder_path(ref), json={"name": new_name}), output)


@app.command("delete")
def delete(ref: RefArg, yes: YesOpt = False) -> None:
    """Delete a folder with every file in it."""
    with authed() as client:
        folder = folder_of(client, ref)
        question = _("Delete folder %s and every file in it?") % folder["name"]
        if not yes and not typer.confirm(question):
            fail(_("nothing deleted"))
        api(client, "DELETE", folder_path(folder["id"]))
    console.print(_("Deleted folder %s.") % folder["name"], highlight=False, markup=False)


def _owner(folder: dict[str, Any]) -> str:
    shared_by = folder.get("shared_by")
    if shared_by and shared_by != folder["owner"]:
        return _("%(owner)s (shared by %(by)s)") % {"owner": folder["owner"], "by": shared_by}
    return str(folder["owner"])


def _show(folder: dict[str, Any], output: Output) -> None:
    if output is Output.JSON:
        print_json(folder)
        return
    lines = [
        (_("name"), folder["name"]),
        (_("id"), folder["id"]),
        (_("owner"), _owner(folder)),
        (_("access"), f"{folder['permission']} ({folder['via']})"),
        (_("usage"), f"{human_bytes(folder['used_bytes'])} / {human_bytes(folder['max_size'])}"),
        (_("host"), f"{folder['host']}, {folder['usage_mode']}"),
    ]
    for label, value in lines:
        console.print(f"{label + ':':<8} {value}", highlight=False, markup=False)
