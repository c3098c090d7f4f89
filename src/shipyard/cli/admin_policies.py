"""`shipyard admin policies ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="policies", no_args_is_help=True)
