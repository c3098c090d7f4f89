"""`shipyard admin announcement ...`: the message every console page shows."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli.http import once
from shipyard.cli.output import Output, OutputOption, fail, print_json, say
from shipyard.i18n import _

app = typer.Typer(help="The announcement every console page shows.", no_args_is_help=True)
PATH = "/api/v1/admin/announcement"


@app.command("show")
def show(output: Output = OutputOption) -> None:
    """The announcement as saved (Markdown), and whether pages show it."""
    found = once("GET", PATH)
    if output is Output.JSON:
        print_json(found)
        return
    if not found["message"]:
        say(_("No announcement."))
        return
    say(_("Shown on every page.") if found["enabled"] else _("Saved, but not shown."))
    say(found["message"])


def _read(message: str | None, file: str | None) -> str:
    if (message is None) == (file is None):
        fail(_("give the message, or --file (- reads standard input)"))
    if file is None:
        return message or ""
    try:
        return sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(_("cannot read %(file)s: %(error)s") % {"file": file, "error": exc})


@app.command("set")
def set_(
    message: Annotated[str | None, typer.Argument(help="the message, in Markdown")] = None,
    file: Annotated[
        str | None, typer.Option("--file", "-f", help="read the message from a file; - for stdin")
    ] = None,
    hidden: Annotated[bool, typer.Option("--hidden", help="save it without showing it")] = False,
    output: Output = OutputOption,
) -> None:
    """Set the announcement (Markdown, up to 5000 characters); pages show it at once."""
    text = _read(message, file)
    saved = once("PUT", PATH, json={"message": text, "enabled": not hidden})
    if output is Output.JSON:
        print_json(saved)
        return
    say(_("Announcement saved; shown on every page.") if saved["enabled"] else _("Saved."))


@app.command("clear")
def clear() -> None:
    """Remove the announcement: no page shows it any more."""
    once("DELETE", PATH)
    say(_("Announcement cleared."))
