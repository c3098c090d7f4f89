"""Schema migrations with the Alembic scripts shipped inside the package."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@cache
def head_revision() -> str:
    """The newest revision shipped in this package (read once: /readyz asks often)."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def backup_sqlite(path: Path) -> Path:
    """A consistent copy of a live SQLite file next to it (the online backup API)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.backup-{stamp}")
    with sqlite3.connect(path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    shutil.copymode(path, target)
    return target


def upgrade(engine: Engine, *, revision: str = "head") -> Path | None:
    """Migrate to `revision`; a SQLite file with pending migrations is backed up first.

    Returns the backup's path when one was made.
    """
    backup = None
    path = sqlite_path(str(engine.url))
    current = current_revision(engine)
    if path is not None and path.exists() and current is not None and current != head_revision():
        backup = backup_sqlite(path)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        if path is not None:
            # Batch migrations rebuild SQLite tables; with foreign keys on, dropping the old
            # table would cascade-delete every row that references it.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        with connection.begin():
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            if path is not None:
                _check_foreign_keys(connection)
        if path is not None:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
    return backup


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
