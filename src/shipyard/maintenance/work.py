"""What a maintenance job is given and must do (the contract every job follows).

A job (`Job`) gets a `Work`: its own database session, the settings, who started the task
and a progress reporter; it returns the task's result as JSON-able data. Reporting progress
commits the work done so far, so report only between consistent steps, and at least every
STALE_AFTER (the heartbeat), or the task is shown as interrupted. The job leaves its last
changes uncommitted: the runner commits them together with the result and the audit entry.
An exception fails the task: a ShipyardError's message is shown as it is, anything else as
a generic message (the trace goes to the log).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from shipyard.config import Settings
from shipyard.db import utcnow
from shipyard.errors import ShipyardError
from shipyard.maintenance.models import AdminTask, TaskStatus
from shipyard.maintenance.service import interrupted_message
from shipyard.users.models import User


class Progress:
    """How far a task is: each report commits the job's work so far, with the heartbeat."""

    def __init__(self, db: Session, task_id: uuid.UUID) -> None:
        self.db = db
        self.task_id = task_id

    def __call__(self, *, done: int, total: int) -> None:
        """Record progress; TaskInterrupted when the task was meanwhile declared interrupted
        (a new one of its kind may be running: this one must stop)."""
        changed = self.db.execute(
            update(AdminTask)
            .where(AdminTask.id == self.task_id, AdminTask.status == TaskStatus.RUNNING)
            .values(progress=done, total=total, heartbeat_at=utcnow())
        )
        if not changed.rowcount:  # type: ignore[attr-defined]
            self.db.rollback()
            raise TaskInterrupted(interrupted_message())
        self.db.commit()


class TaskInterrupted(ShipyardError):
    """The task was declared interrupted (its heartbeat was late) while it still ran."""


@dataclass(frozen=True)
class Work:
    """What a job is given."""

    db: Session
    settings: Settings
    by: User | None
    progress: Progress


Job = Callable[[Work], dict[str, Any]]
