"""`shipyard folder invite / invitations / accept / decline / shares / revoke`: sharing."""

from __future__ import annotations

import enum
import uuid
from typing import Annotated

import typer
from rich.table import Table

from shipyard.cli.folders.lookup import RefArg, folder_path
from shipyard.cli.http import api, authed, segment
from shipyard.cli.output import Output, OutputOption, add_row, console, fail, print_json
from shipyard.i18n import _

app = typer.Typer()


class Perm(enum.StrEnum):
    RO = "ro"
    RW = "rw"
    WD = "wd"


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
        sent = api(client, "POST", folder_path(ref, "invitations"), json=body)
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
        found = api(client, "GET", folder_path(ref, "shares"))
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
        api(client, "DELETE", folder_path(ref, "shares", segment(email)))
    console.print(_("%s no longer has access.") % email, highlight=False, markup=False)


def _invitation_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        fail(_("not an invitation id: %s (see `shipyard folder invitations`)") % value)
