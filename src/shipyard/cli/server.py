"""`shipyard up`, `shipyard manager` and `shipyard db upgrade`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.panel import Panel

from shipyard import __version__
from shipyard.cli.output import console, fail

if TYPE_CHECKING:
    from shipyard.admin.bootstrap import Prepared
    from shipyard.config import Settings

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file", dir_okay=False)
]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="where the database, storage and secrets live")
]
HostOpt = Annotated[str | None, typer.Option("--host", help="address to listen on")]
PortOpt = Annotated[int | None, typer.Option("--port", help="port to listen on")]

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def settings_from(config: Path | None, **overrides: Any) -> Settings:
    from pydantic import ValidationError  # noqa: PLC0415 - server modules load only when needed

    from shipyard.config import load_settings  # noqa: PLC0415

    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return load_settings(config, **given)
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        fail(f"invalid configuration: {exc}")


def announce(settings: Settings, prepared: Prepared) -> None:
    url = f"http://{settings.host}:{settings.port}"
    console.print(f"Shipyard {__version__} on [bold]{url}[/bold]  (data: {settings.data_dir})")
    if prepared.backup:
        console.print(f"Database backed up to {prepared.backup} before migrating.")
    if prepared.generated_password:
        console.print(
            Panel(
                f"email:    {settings.admin_email}\npassword: {prepared.generated_password}\n\n"
                f"Shown once; also in {prepared.password_file} (mode 0600).",
                title="First administrator",
            )
        )


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn an unreachable or unusable database into one clear line, not a traceback."""
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415 - keep the CLI quick to start

    try:
        yield
    except SQLAlchemyError as exc:
        fail(f"cannot use the database: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}")


def serve(settings: Settings, *, migrate_schema: bool, embedded_agent: bool = False) -> None:
    import uvicorn  # noqa: PLC0415 - server modules load only for server commands

    from shipyard import migrate  # noqa: PLC0415
    from shipyard.admin.bootstrap import prepare, prepare_data_dir  # noqa: PLC0415
    from shipyard.app import create_app  # noqa: PLC0415
    from shipyard.db import Database  # noqa: PLC0415
    from shipyard.edge.protocol import uvicorn_options  # noqa: PLC0415

    prepare_data_dir(settings)
    database = Database(settings.effective_database_url)
    with database_errors():
        if not migrate_schema and not migrate.is_current(database.engine):
            fail("the database schema is not current: run `shipyard db upgrade` first")
        prepared = prepare(settings, database, upgrade=migrate_schema)
    announce(settings, prepared)
    if embedded_agent:
        from shipyard.agent.embedded import EmbeddedAgent, make_runtime  # noqa: PLC0415

        EmbeddedAgent(settings, database, make_runtime(settings)).start()
    uvicorn.run(
        create_app(settings, database=database),
        host=settings.host,
        port=settings.port,
        log_level="info",
        timeout_graceful_shutdown=3,  # agents long-poll; do not wait them out
        timeout_keep_alive=65,  # longer than heartbeat intervals: agents reuse connections
        **uvicorn_options(settings),  # header deadline; proxies judged by the app
    )


def up(
    host: HostOpt = None,
    port: PortOpt = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Set up the data dir and database, then serve console and API with an embedded agent."""
    settings = settings_from(config, host=host, port=port, data_dir=data_dir)
    serve(settings, migrate_schema=True, embedded_agent=True)


def manager(
    host: HostOpt = None,
    port: PortOpt = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Serve console and API only (no embedded agent); the schema must be current."""
    serve(settings_from(config, host=host, port=port, data_dir=data_dir), migrate_schema=False)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """Migrate the database to the current schema (a SQLite file is backed up first)."""
    from shipyard import migrate  # noqa: PLC0415 - server modules load only when needed
    from shipyard.admin.bootstrap import prepare_data_dir  # noqa: PLC0415
    from shipyard.db import Database  # noqa: PLC0415

    settings = settings_from(config, data_dir=data_dir)
    prepare_data_dir(settings)
    database = Database(settings.effective_database_url)
    with database_errors():
        before = migrate.current_revision(database.engine)
        backup = migrate.upgrade(database.engine)
        after = migrate.current_revision(database.engine)
    if backup:
        console.print(f"Backed up the database to {backup}")
    console.print(f"Schema at revision {after}" + (" (unchanged)" if before == after else ""))
