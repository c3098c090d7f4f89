"""Reading the audit log: filtered, newest first, one page at a time or in batches.

A page costs two statements (the total and the rows) whatever the data size; the order
(`at`, then `id`) is total, so pages and export batches never skip or repeat an entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true, tuple_
from sqlalchemy.orm import Session

from shipyard.audit.models import AuditEntry
from shipyard.audit.schemas import PAGE_SIZE, AuditFilter

EXPORT_BATCH = 500
NEWEST_FIRST = (AuditEntry.at.desc(), AuditEntry.id.desc())


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int
    page: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def _day_start(day: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _action_condition(action: str) -> ColumnElement[bool]:
    """`user.*` or `user.` (or `user`, when no action has that exact name) is a family."""
    family = action.rstrip("*").rstrip(".")
    if action.endswith("*") or action.endswith(".") or "." not in action:
        return or_(
            AuditEntry.action == family,
            AuditEntry.action.startswith(family + ".", autoescape=True),
        )
    return AuditEntry.action == action


def conditions(spec: AuditFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses for a filter (an empty filter gives none)."""
    found: list[ColumnElement[bool]] = []
    if spec.actor:
        found.append(
            func.lower(AuditEntry.actor_email).contains(spec.actor.lower(), autoescape=True)
        )
    if spec.action:
        found.append(_action_condition(spec.action))
    if spec.target_type:
        found.append(AuditEntry.target_type == spec.target_type)
    if spec.target:
        needle = spec.target.lower()
        found.append(
            or_(
                func.lower(AuditEntry.target_label).contains(needle, autoescape=True),
                AuditEntry.target_id.contains(needle, autoescape=True),
            )
        )
    if spec.address:
        found.append(AuditEntry.client_address.contains(spec.address, autoescape=True))
    if spec.result:
        found.append(AuditEntry.success.is_(spec.result == "success"))
    if spec.since:
        found.append(AuditEntry.at >= _day_start(spec.since))
    if spec.until:
        found.append(AuditEntry.at < _day_start(spec.until) + timedelta(days=1))
    return found


def _filtered(spec: AuditFilter) -> Select[AuditEntry]:
    return select(AuditEntry).where(and_(true(), *conditions(spec)))


def count(db: Session, spec: AuditFilter) -> int:
    total = select(func.count()).select_from(AuditEntry).where(and_(true(), *conditions(spec)))
    return db.scalar(total) or 0


def page_of(db: Session, spec: AuditFilter, *, page: int = 1, size: int = PAGE_SIZE) -> AuditPage:
    """One page (1-based) of matching entries, newest first, with the total."""
    total = count(db, spec)
    rows = db.scalars(
        _filtered(spec).order_by(*NEWEST_FIRST).offset((page - 1) * size).limit(size)
    ).all()
    return AuditPage(entries=list(rows), total=total, page=page, size=size)


def batches(
    db: Session, spec: AuditFilter, *, size: int = EXPORT_BATCH
) -> Iterator[list[AuditEntry]]:
    """Every matching entry, newest first, `size` at a time (keyset: each batch is one query).

    Entries of a batch are expunged once read, so memory holds one batch at most.
    """
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = _filtered(spec).order_by(*NEWEST_FIRST).limit(size)
        if after is not None:
            query = query.where(tuple_(AuditEntry.at, AuditEntry.id) < after)
        rows = list(db.scalars(query))
        if not rows:
            return
        db.expunge_all()
        yield rows
        if len(rows) < size:
            return
        after = (rows[-1].at, rows[-1].id)
