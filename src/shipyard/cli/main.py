"""The `shipyard` command."""

from __future__ import annotations

import typer

from shipyard import __version__
from shipyard.cli import account, admin, agent, environments, folders, server, sessions

app = typer.Typer(
    name="shipyard",
    help="Shipyard: a self-hosted compute-session platform.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command()(server.up)
app.command()(server.manager)
app.add_typer(server.db_app, name="db")
app.command()(account.login)
app.command()(account.logout)
app.command()(account.whoami)
app.command()(agent.agent)
app.add_typer(sessions.app, name="session")
app.add_typer(folders.app, name="folder")
app.add_typer(environments.app, name="env")
app.add_typer(admin.app, name="admin")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()
