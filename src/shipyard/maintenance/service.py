"""Maintenance tasks: start one (one of a kind at a time), follow it, list recent ones.

A task is QUEUED here and run by a Runner off the request; its state lives in the database,
so any page load (on any manager) shows how far it is. A QUEUED or RUNNING task whose
heartbeat stopped for STALE_AFTER lost its manager: it is shown as interrupted and does not
block a new task of its kind.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Select, false, func, select, text, update
from sqlalchemy.orm import Session

from shipyard.db import utcnow
from shipyard.errors import Conflict, NotFound
from shipyard.i18n import _
from shipyard.maintenance.models import AdminTask, TaskKind, TaskStatus
from shipyard.maintenance.schemas import TaskPublic, TaskState
from shipyard.users.models import User

STALE_AFTER = timedelta(seconds=60)
ACTIVE = frozenset({TaskStatus.QUEUED, TaskStatus.RUNNING})
RECENT = 10
_START_LOCK = 0x5348_5950  # PostgreSQL advisory lock key serialising starts


def kind_label(kind: TaskKind | str) -> str:
    labels = {
        TaskKind.RECALCULATE_USAGE: _("Recalculate usage"),
        TaskKind.RESCAN_ENVIRONMENTS: _("Rescan environments"),
    }
    return labels.get(TaskKind(kind), str(kind))


def interrupted_message() -> str:
    return _("Interrupted: the manager running this task stopped before it ended.")


def is_stale(task: AdminTask, *, now: datetime | None = None) -> bool:
    """Queued or running, but not heard of for STALE_AFTER (its manager stopped)."""
    if task.status not in ACTIVE:
        return False
    seen = task.heartbeat_at or task.created_at
    return seen < (now or utcnow()) - STALE_AFTER


class Runner(Protocol):
    """Runs queued tasks off the request (shipyard.maintenance.runner.Runner)."""

    def submit(self, task_id: uuid.UUID) -> None: ...


def start(db: Session, runner: Runner, *, kind: TaskKind, by: User) -> AdminTask:
    """Queue a task and hand it to the runner; Conflict if one of its kind is still running."""
    _serialise_starts(db)
    now = utcnow()
    for task in db.scalars(
        select(AdminTask).where(AdminTask.kind == kind, AdminTask.status.in_(ACTIVE))
    ):
        if not is_stale(task, now=now):
            raise Conflict(
                _("%(task)s is already running.") % {"task": kind_label(kind)},
                details={"task_id": str(task.id), "url": f"/admin/maintenance#task-{task.id}"},
            )
        task.status, task.finished_at = TaskStatus.FAILED, now
        task.message = interrupted_message()
    task = AdminTask(kind=kind, created_by=by.id, created_at=now)
    db.add(task)
    db.commit()
    runner.submit(task.id)
    return task


def _serialise_starts(db: Session) -> None:
    """Two admins starting at once: the second waits, then sees the first one's task."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _START_LOCK})
    else:  # an empty write takes SQLite's single write lock
        db.execute(update(AdminTask).where(false()).values(progress=AdminTask.progress))


def get(db: Session, task_id: uuid.UUID) -> TaskPublic:
    found = _present(db, select(AdminTask).where(AdminTask.id == task_id))
    if not found:
        raise NotFound(_("There is no such task."))
    return found[0]


def recent(db: Session, *, limit: int = RECENT, kind: TaskKind | None = None) -> list[TaskPublic]:
    """The newest tasks first (of one kind, if given), in one query."""
    query = select(AdminTask).order_by(AdminTask.created_at.desc(), AdminTask.id).limit(limit)
    if kind is not None:
        query = query.where(AdminTask.kind == kind)
    return _present(db, query)


def latest_of_each(db: Session) -> dict[TaskKind, TaskPublic | None]:
    """The newest task of every kind (the maintenance cards), one query per kind."""
    return {kind: next(iter(recent(db, limit=1, kind=kind)), None) for kind in TaskKind}


def count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(AdminTask)) or 0


def _present(db: Session, query: Select[AdminTask]) -> list[TaskPublic]:
    now = utcnow()
    rows = db.execute(
        query.add_columns(User.email).outerjoin(User, User.id == AdminTask.created_by)
    )
    return [_public(task, email, now) for task, email in rows]


def _public(task: AdminTask, email: str | None, now: datetime) -> TaskPublic:
    state = TaskState.INTERRUPTED if is_stale(task, now=now) else TaskState(task.status.value)
    percent = 100 if task.status is TaskStatus.SUCCEEDED else 0
    if task.total and task.status is not TaskStatus.SUCCEEDED:
        percent = min(100, task.progress * 100 // task.total)
    return TaskPublic(
        id=task.id,
        kind=TaskKind(task.kind),
        state=state,
        progress=task.progress,
        total=task.total,
        percent=percent,
        message=interrupted_message() if state is TaskState.INTERRUPTED else task.message,
        result=task.result or {},
        started_by=email,
        created_at=task.created_at,
        started_at=task.started_at,
        finished_at=task.finished_at,
        heartbeat_at=task.heartbeat_at,
    )
