"""`shipyard admin announcement ...`: the message every console page shows."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli.admin_calls import admin_call
from shipyard.cli.output import Output, OutputOption, console, fail, print_json
from shipyard.i18n import _

app = typer.Typer(help="The announcement every console page shows.", no_args_is_help=True)
PATH = "/api/v1/admin/announcement"


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False)


@app.command("show")
def show(output: Output = OutputOption) -> None:
    """The announcement as saved (Markdown), and whether pages show it."""
    found = admin_call("GET", PATH)
    if output is Output.JSON:
        print_json(found)
        return
    if not found["message"]:
        _say(_("No announcement."))
        return
    _say(_("Shown on every page.") if found["enabled"] else _("Saved, but not shown."))
    _say(found["message"])


def _read(message: str | None, file: str | None) -> str:
    if (message is None) == (file is None):
        fail(_("give the message, or --file (- reads standard input)"))
    if file is None:
        return message or ""
    try:
        return sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(_("cannot read %(file)s: %(error)s") % {"file": file, "error": exc})
        raise AssertionError from exc  # unreachable


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
    saved = admin_call("PUT", PATH, json={"message": text, "enabled": not hidden})
    if output is Output.JSON:
        print_json(saved)
        return
    _say(_("Announcement saved; shown on every page.") if saved["enabled"] else _("Saved."))


@app.command("clear")
def clear() -> None:
    """Remove the announcement: no page shows it any more."""
    admin_call("DELETE", PATH)
    _say(_("Announcement cleared."))
