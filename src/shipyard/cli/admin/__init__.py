"""`shipyard admin ...`: administration through the API (admins only)."""

from __future__ import annotations

import typer

from shipyard.cli.admin import (
    agent_tokens,
    agents,
    announcement,
    environments,
    groups,
    maintenance,
    policies,
    projects,
    sessions,
    users,
)

app = typer.Typer(help="Administration (admins only).", no_args_is_help=True)
app.add_typer(agent_tokens.app, name="agent-token")
app.add_typer(environments.app, name="environment")
app.add_typer(users.app, name="user")
app.add_typer(projects.app, name="project")
app.add_typer(policies.app, name="policy")
app.add_typer(groups.app, name="resource-group")
app.add_typer(announcement.app, name="announcement")
app.add_typer(maintenance.app, name="maintenance")
app.add_typer(agents.app, name="agent")
app.add_typer(sessions.app, name="session")
