"""`shipyard admin announcement ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="announcement", no_args_is_help=True)
