"""Recounting the ledger from the sessions that occupy slots (maintenance, tests, benches).

The ledger is written in the same transaction as every status change (sessions.lifecycle);
this is the check that it still equals the sum over the occupying sessions, and the repair.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipyard.resources import ledger
from shipyard.resources.ledger import Drift, UsageKey
from shipyard.resources.models import Scope, Usage
from shipyard.sessions.models import OCCUPYING, ComputeSession

_SESSION_COLUMN = {
    Scope.USER: ComputeSession.owner_id,
    Scope.PROJECT: ComputeSession.project_id,
    Scope.GROUP: ComputeSession.resource_group_id,
    Scope.AGENT: ComputeSession.agent_id,
}


def scope_ids(db: Session, scope: Scope) -> list[str]:
    """Every id of a kind that holds something in the ledger or in an occupying session, sorted.

    (A zero row needs no check: if a session held something there, it names the id.)"""
    column = _SESSION_COLUMN[scope]
    named = db.scalars(
        select(column).distinct().where(ComputeSession.status.in_(OCCUPYING), column.is_not(None))
    )
    recorded = db.scalars(
        select(Usage.scope_id).distinct().where(Usage.scope == scope, Usage.amount != 0)
    )
    return sorted({str(value) for value in named} | set(recorded))


def _occupying(db: Session, scope: Scope | None, ids: list[str]) -> Iterable[ComputeSession]:
    query = select(ComputeSession).where(ComputeSession.status.in_(OCCUPYING))
    if scope is None:
        return db.scalars(query)
    column = _SESSION_COLUMN[scope]
    keys: list[object] = list(ids) if scope is Scope.AGENT else [u for u in map(_uuid, ids) if u]
    return db.scalars(query.where(column.in_(keys))) if keys else ()


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:  # a ledger row no session can match (a bogus id)
        return None


def rebuild(db: Session, *, scope: Scope | None = None, ids: Iterable[str] = ()) -> list[Drift]:
    """Recompute the ledger from the occupying sessions; return (and fix) every difference.

    Without `scope` the whole ledger, else only the rows of the given ids of that scope.
    Takes the ledger lock (ledger.lock()) first, so call it at the start of a transaction;
    the caller commits (or rolls back to only look)."""
    ledger.lock(db)
    wanted = list(ids)
    expected: dict[UsageKey, int] = defaultdict(int)
    for session in _occupying(db, scope, wanted):
        for row in ledger.rows_of(session, +1):
            key = (Scope(str(row["scope"])), str(row["scope_id"]), str(row["slot"]))
            if scope is None or key[0] is scope:
                expected[key] += int(str(row["amount"]))
    query = select(Usage)
    if scope is not None:
        query = query.where(Usage.scope == scope, Usage.scope_id.in_(wanted))
    recorded = {(u.scope, u.scope_id, u.slot): u for u in db.scalars(query)}
    return ledger.fix(db, expected, recorded)
