"""First start: the data dir, the schema, the default project and the first administrator."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from shipyard import migrate
from shipyard.agents import service as agents
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.environments import service as environments
from shipyard.policies import service as policies
from shipyard.policies.models import PolicyKind
from shipyard.projects import service as projects
from shipyard.users import service as users

PASSWORD_FILE = "initial-admin-password"  # noqa: S105 - a file name


@dataclass(frozen=True)
class Prepared:
    generated_password: str | None
    password_file: Path | None
    backup: Path | None


def prepare_data_dir(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)


def write_secret(path: Path, secret: str) -> None:
    """Write a secret readable by the owner only (created 0600, never world-readable)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    os.chmod(path, 0o600)


def ensure_defaults(db: Session) -> None:
    """The default project, resource group, policies and environment; the default project
    may use the default group."""
    project = projects.default_project(db)
    group = agents.default_group(db)
    agents.allow_project(db, group=group, project=project)
    policies.default_policy(db, PolicyKind.USER)
    policies.default_policy(db, PolicyKind.PROJECT)
    environments.ensure_builtin(db)
    db.commit()


def prepare(settings: Settings, database: Database, *, upgrade: bool = True) -> Prepared:
    """Create the data dir, migrate (if asked), ensure the default project and first admin."""
    prepare_data_dir(settings)
    backup = migrate.upgrade(database.engine) if upgrade else None
    with database.session() as db:
        ensure_defaults(db)
        generated = users.ensure_first_admin(db, settings=settings)
    password_file = None
    if generated is not None:
        password_file = settings.data_dir / PASSWORD_FILE
        write_secret(password_file, generated)
    return Prepared(generated_password=generated, password_file=password_file, backup=backup)
