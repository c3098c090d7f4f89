"""Alembic owns the schema: upgrades keep data, SQLite files are backed up first."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from shipyard import migrate
from shipyard.db import Database
from shipyard.models import Base

# Migrations run the dialect's DDL: every test here is about the database.
pytestmark = pytest.mark.db

FIRST = "0001"


def test_the_first_revision_has_no_parent() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert script.get_revision(FIRST).down_revision is None


def test_migrations_match_the_models(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    migrate.upgrade(database.engine)
    tables = set(inspect(database.engine).get_table_names())
    database.dispose()
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_a_populated_database_upgrades_from_the_first_revision(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database.engine, revision=FIRST)
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO projects (id, name, description, is_active, created_at) "
                "VALUES ('00000000000000000000000000000001', 'legacy', '', 1, '2026-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO users (id, email, full_name, password_hash, role, status, theme,"
                " current_project_id, created_at, password_changed_at) VALUES"
                " ('00000000000000000000000000000002', 'old@example.org', 'Old', 'x', 'user',"
                " 'active', 'system', '00000000000000000000000000000001', '2026-01-01',"
                " '2026-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO project_members (project_id, user_id, role, joined_at) VALUES"
                " ('00000000000000000000000000000001', '00000000000000000000000000000002',"
                " 'member', '2026-01-01')"
            )
        )
    backup = migrate.upgrade(database.engine)
    assert migrate.is_current(database.engine)
    with database.engine.connect() as connection:
        names = connection.execute(text("SELECT name FROM projects")).scalars().all()
        members = connection.execute(text("SELECT count(*) FROM project_members")).scalar()
        current = connection.execute(text("SELECT current_project_id FROM users")).scalar()
    assert names == ["legacy"]
    assert members == 1, "rows referencing a rebuilt table must survive the upgrade"
    assert current is not None
    pending = migrate.head_revision() != FIRST
    database.dispose()
    assert (backup is not None) == pending
    if backup is not None:
        with sqlite3.connect(backup) as copy:
            assert copy.execute("SELECT name FROM projects").fetchall() == [("legacy",)]


def test_backup_is_a_consistent_copy(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    with sqlite3.connect(path) as live:
        live.execute("CREATE TABLE t (v TEXT)")
        live.execute("INSERT INTO t VALUES ('kept')")
    backup = migrate.backup_sqlite(path)
    assert backup.name.startswith("live.db.backup-")
    with sqlite3.connect(backup) as copy:
        assert copy.execute("SELECT v FROM t").fetchall() == [("kept",)]


def test_upgrading_a_current_database_changes_nothing(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate.upgrade(database.engine)
    assert migrate.upgrade(database.engine) is None
    assert migrate.is_current(database.engine)
    database.dispose()


def test_the_migrated_schema_has_no_drift_from_the_models(database: Database) -> None:
    """Runs on SQLite and, in the pg lane, on PostgreSQL (foreign keys, indexes, types)."""
    with database.engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert drift == []


def test_the_session_isolation_revision_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'round.db'}"
    database = Database(url)
    migrate.upgrade(database.engine)
    config = migrate.alembic_config(url)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
    columns = {c["name"] for c in inspect(database.engine).get_columns("resource_policies")}
    assert "max_session_scratch" not in columns
    migrate.upgrade(database.engine)
    columns = {c["name"] for c in inspect(database.engine).get_columns("resource_policies")}
    assert migrate.is_current(database.engine)
    assert "max_session_scratch" in columns
    database.dispose()


def test_invitations_keep_their_invitee_as_an_email_after_the_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'invitations.db'}"
    database = Database(url)
    config = migrate.alembic_config(url)
    before = ScriptDirectory.from_config(config).get_revision(INVITATIONS_BY_EMAIL).down_revision
    migrate.upgrade(database.engine, revision=str(before))
    with database.engine.begin() as connection:
        for number, email in ((2, "Ada@Example.org"), (3, "bob@example.org")):
            connection.execute(
                text(
                    "INSERT INTO users (id, email, full_name, password_hash, role, status, theme,"
                    " created_at, password_changed_at) VALUES (:id, :email, 'x', 'x', 'user',"
                    " 'active', 'system', '2026-01-01', '2026-01-01')"
                ),
                {"id": f"{number:032x}", "email": email},
            )
        connection.execute(
            text(
                "INSERT INTO folders (id, name, host, owner_user_id, usage_mode, used_bytes,"
                " created_at) VALUES ('0000000000000000000000000000000f', 'data', 'local',"
                " '00000000000000000000000000000003', 'general', 0, '2026-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO folder_invitations (id, folder_id, inviter_id, invitee_id, perm,"
                " state, created_at) VALUES ('0000000000000000000000000000000a',"
                " '0000000000000000000000000000000f', '00000000000000000000000000000003',"
                " '00000000000000000000000000000002', 'ro', 'pending', '2026-01-01')"
            )
        )
    migrate.upgrade(database.engine)
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT invitee_id, invitee_email FROM folder_invitations")
        ).all()
    database.dispose()
    assert [(str(r[0]).replace("-", ""), r[1]) for r in rows] == [
        ("00000000000000000000000000000002", "ada@example.org")
    ]


INVITATIONS_BY_EMAIL = "0011_invitations_by_email"
