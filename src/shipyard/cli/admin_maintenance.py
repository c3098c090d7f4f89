"""`shipyard admin maintenance ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="maintenance", no_args_is_help=True)
