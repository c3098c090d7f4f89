"""`shipyard folder ...`: storage folders, the files in them, and sharing them."""

from __future__ import annotations

import enum
import uuid
from typing import Annotated, Any

import typer
from rich.table import Table

from shipyard.cli import folder_files
from shipyard.cli.client import authed
from shipyard.cli.folder_api import add_row, api, folder_of, human_bytes
from shipyard.cli.output import Output, OutputOption, console, fail, print_json
from shipyard.cli.transfer import segment
from shipyard.i18n import _

app = typer.Typer(help="Storage folders: files, uploads, downloads, sharing.", no_args_is_help=True)
RefArg = Annotated[str, typer.Argument(help="folder name or id")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]


class UsageMode(enum.StrEnum):
    GENERAL = "general"
    DATA = "data"
    MODEL = "model"


class Perm(enum.StrEnum):
    RO = "ro"
    RW = "rw"
    WD = "wd"


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
        _show(
            api(client, "PATCH", f"/api/v1/folders/{segment(ref)}", json={"name": new_name}), output
        )


@app.command("delete")
def delete(ref: RefArg, yes: YesOpt = False) -> None:
    """Delete a folder with every file in it."""
    with authed() as client:
        folder = folder_of(client, ref)
        question = _("Delete folder %s and every file in it?") % folder["name"]
        if not yes and not typer.confirm(question):
            fail(_("nothing deleted"))
        api(client, "DELETE", f"/api/v1/folders/{segment(folder['id'])}")
    console.print(_("Deleted folder %s.") % folder["name"], highlight=False, markup=False)


# The commands for the files inside a folder come next in --help.
for name, command in folder_files.COMMANDS.items():
    app.command(name)(command)


@app.command("invite")
def invite(
    ref: RefArg,
    email: Annotated[str, typer.Argument(help="the invitee's login email")],
    perm: Annotated[Perm, typer.Option("--perm", help="ro, rw or wd (rw + delete)")] = Perm.RO,
    output: Output = OutputOption,
) -> None:
    """Invite a user to share a folder; they accept or decline it."""
    body = {"email": email, "permission": perm.value}
    with authed() as client:
        sent = api(client, "POST", f"/api/v1/folders/{segment(ref)}/invitations", json=body)
    if output is Output.JSON:
        print_json(sent)
        return
    console.print(
        _("Invited %(email)s to %(folder)s (%(perm)s); invitation %(id)s.")
        % {
            "email": sent["invitee"],
            "folder": sent["folder"],
            "perm": sent["permission"],
            "id": sent["id"],
        },
        highlight=False,
        markup=False,
    )


@app.command("invitations")
def invitations(output: Output = OutputOption) -> None:
    """Invitations to folders waiting for your answer."""
    with authed() as client:
        page = api(client, "GET", "/api/v1/invitations")
    if output is Output.JSON:
        print_json(page)
        return
    table = Table(_("ID"), _("FOLDER"), _("FROM"), _("PERMISSION"), _("SENT"))
    for item in page["data"]:
        sent = item["created_at"][:16].replace("T", " ")
        add_row(table, item["id"], item["folder"], item["inviter"], item["permission"], sent)
    console.print(table)
    console.print(_("%d pending invitation(s)") % page["count"], highlight=False, markup=False)


@app.command("accept")
def accept(
    invitation: Annotated[str, typer.Argument(help="invitation id")], output: Output = OutputOption
) -> None:
    """Accept an invitation: the folder appears among yours."""
    with authed() as client:
        folder = api(client, "POST", f"/api/v1/invitations/{_invitation_id(invitation)}/accept")
    if output is Output.JSON:
        print_json(folder)
        return
    console.print(
        _("Accepted: folder %s is now in your list.") % folder["name"],
        highlight=False,
        markup=False,
    )


@app.command("decline")
def decline(invitation: Annotated[str, typer.Argument(help="invitation id")]) -> None:
    """Decline an invitation."""
    with authed() as client:
        api(client, "POST", f"/api/v1/invitations/{_invitation_id(invitation)}/decline")
    console.print(_("Declined."))


@app.command("shares")
def shares(ref: RefArg, output: Output = OutputOption) -> None:
    """Who a folder of yours is shared with, and invitations not answered yet."""
    with authed() as client:
        found = api(client, "GET", f"/api/v1/folders/{segment(ref)}/shares")
    if output is Output.JSON:
        print_json(found)
        return
    table = Table(_("USER"), _("PERMISSION"), _("STATE"))
    for share in found["shares"]:
        add_row(table, share["user"], share["permission"], _("shared"))
    for pending in found["pending"]:
        add_row(table, pending["invitee"], pending["permission"], _("invited"))
    console.print(table)


@app.command("revoke")
def revoke(ref: RefArg, email: Annotated[str, typer.Argument(help="the user's email")]) -> None:
    """Stop sharing a folder with a user."""
    with authed() as client:
        api(client, "DELETE", f"/api/v1/folders/{segment(ref)}/shares/{segment(email)}")
    console.print(_("%s no longer has access.") % email, highlight=False, markup=False)


def _invitation_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        fail(_("not an invitation id: %s (see `shipyard folder invitations`)") % value)
        raise AssertionError from None  # unreachable: fail() exits


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
