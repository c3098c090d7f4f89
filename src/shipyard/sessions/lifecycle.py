"""Status changes of a session, with the ledger kept in step in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from shipyard.agents import service as agents
from shipyard.db import utcnow
from shipyard.resources import ledger
from shipyard.sessions import effects
from shipyard.sessions.models import FINISHED, OCCUPYING, ComputeSession, SessionStatus

ALLOWED: dict[SessionStatus, frozenset[SessionStatus]] = {
    SessionStatus.PENDING: frozenset(
        {SessionStatus.SCHEDULED, SessionStatus.CANCELLED, SessionStatus.ERROR}
    ),
    SessionStatus.SCHEDULED: frozenset(
        {
            SessionStatus.PREPARING,
            SessionStatus.RUNNING,
            SessionStatus.TERMINATING,
            SessionStatus.TERMINATED,
            SessionStatus.ERROR,
        }
    ),
    SessionStatus.PREPARING: frozenset(
        {
            SessionStatus.RUNNING,
            SessionStatus.TERMINATING,
            SessionStatus.TERMINATED,
            SessionStatus.ERROR,
        }
    ),
    SessionStatus.RUNNING: frozenset(
        {SessionStatus.TERMINATING, SessionStatus.TERMINATED, SessionStatus.ERROR}
    ),
    SessionStatus.TERMINATING: frozenset({SessionStatus.TERMINATED, SessionStatus.ERROR}),
}


@dataclass
class Writes:
    """The ledger rows and agent bumps that moves ask for, written by apply() at once."""

    occupied: list[ComputeSession] = field(default_factory=list)
    released: list[ComputeSession] = field(default_factory=list)
    bumped: set[str] = field(default_factory=set)

    def apply(self, db: Session) -> None:
        """Write (in db's transaction) and forget what was collected."""
        ledger.change(db, occupied=self.occupied, released=self.released)
        agents.bump_many(db, self.bumped)
        self.occupied, self.released, self.bumped = [], [], set()


def move(
    db: Session,
    session: ComputeSession,
    status: SessionStatus,
    reason: str,
    *,
    exit_code: int | None = None,
    writes: Writes | None = None,
) -> bool:
    """Move a session to `status` if its lifecycle allows it; False when it does not.

    Entering the occupying statuses occupies the ledger, leaving them releases it, and the
    agent's desired state version is bumped whenever what it should run changes. Those
    writes happen before move() returns, unless `writes` is given: then they are collected
    there, and the caller must apply() them in the same transaction before it reads the
    ledger again (the scheduler does so for thousands of sessions in one statement).
    Once the transaction commits, the bumped agents' long-polls wake, and a session that
    finished wakes the scheduler: what it held or waited for may let another start
    (shipyard.sessions.effects).
    """
    if status not in ALLOWED.get(session.status, frozenset()):
        return False
    pending = Writes() if writes is None else writes
    was_occupying = session.status in OCCUPYING
    now = utcnow()
    if status in OCCUPYING and not was_occupying:
        pending.occupied.append(session)
    elif was_occupying and status not in OCCUPYING:
        pending.released.append(session)
    session.status = status
    session.status_info = reason
    session.status_changed_at = now
    session.history = [
        *session.history,
        {"status": status.value, "at": now.isoformat(), "reason": reason},
    ]
    if status is SessionStatus.RUNNING and session.started_at is None:
        session.started_at = now
    if status in FINISHED:
        session.finished_at = now
        if exit_code is not None:
            session.exit_code = exit_code
        effects.wake_scheduler(db)
    if session.agent_id is not None and status in (
        SessionStatus.SCHEDULED,
        SessionStatus.TERMINATING,
        *FINISHED,
    ):
        pending.bumped.add(session.agent_id)
    if writes is None:
        pending.apply(db)
    return True
