"""Audit entries for tests: written straight into the log, and read back from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from shipyard.audit.models import AuditEntry
from shipyard.db import Database

BASE_TIME = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def seed(database: Database, count: int = 1, *, start: datetime = BASE_TIME, **fields: Any) -> None:
    """`count` entries one minute apart from `start` (the last is the newest)."""
    values = {"action": "user.update", "actor_email": "root@example.org", **fields}
    with database.session() as db:
        db.add_all(
            AuditEntry(at=start + timedelta(minutes=number), **values) for number in range(count)
        )
        db.commit()


def entries(database: Database, action: str | None = None) -> list[AuditEntry]:
    """The log's entries, newest first (only `action`'s, if given)."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if action is not None:
        query = query.where(AuditEntry.action == action)
    with database.session() as db:
        return list(db.scalars(query))


def entry_count(database: Database) -> int:
    with database.session() as db:
        return db.scalar(select(func.count()).select_from(AuditEntry)) or 0
