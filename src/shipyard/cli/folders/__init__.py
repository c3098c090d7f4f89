"""`shipyard folder ...`: storage folders, the files in them, and sharing them."""

from __future__ import annotations

import typer

from shipyard.cli.folders import files, manage, sharing

app = typer.Typer(help="Storage folders: files, uploads, downloads, sharing.", no_args_is_help=True)
# In --help: the folders themselves, then the files inside one, then sharing.
app.add_typer(manage.app)
app.add_typer(files.app)
app.add_typer(sharing.app)
