"""Running maintenance tasks off the request: a daemon thread per task in this manager."""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from shipyard.audit import service as audit
from shipyard.audit.models import Action
from shipyard.config import Settings
from shipyard.db import Database, utcnow
from shipyard.errors import ShipyardError
from shipyard.i18n import _
from shipyard.maintenance.jobs import JOBS
from shipyard.maintenance.models import AdminTask, TaskKind, TaskStatus
from shipyard.maintenance.service import kind_label
from shipyard.maintenance.work import Job, Progress, Work
from shipyard.users.models import User

log = logging.getLogger(__name__)
WORKER = f"{socket.gethostname()}:{os.getpid()}"[:128]
ACTIONS = {
    TaskKind.RECALCULATE_USAGE: Action.USAGE_RECALCULATE,
    TaskKind.RESCAN_ENVIRONMENTS: Action.ENVIRONMENTS_RESCAN,
}


class Runner:
    """Runs queued tasks, each in a daemon thread with its own database session."""

    def __init__(
        self, database: Database, settings: Settings, *, jobs: Mapping[TaskKind, Job]
    ) -> None:
        self.database = database
        self.settings = settings
        self.jobs = dict(jobs)
        self._threads: list[threading.Thread] = []

    def submit(self, task_id: uuid.UUID) -> None:
        """Start the task in the background (the request's address and language go along)."""
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run, args=(self.run, task_id), name=f"task-{task_id}", daemon=True
        )
        self._threads = [alive for alive in self._threads if alive.is_alive()] + [thread]
        thread.start()

    def join(self, timeout: float) -> None:
        """Wait for the tasks this runner started to end (shutdown, tests)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def run(self, task_id: uuid.UUID) -> None:
        """Run one queued task to its end (the thread's body; tests may call it directly)."""
        try:
            with self.database.session() as db:
                self._run(db, task_id)
        except Exception:
            log.exception("maintenance task %s could not be recorded", task_id)

    def _run(self, db: Session, task_id: uuid.UUID) -> None:
        task = db.get(AdminTask, task_id)
        if task is None or task.status is not TaskStatus.QUEUED:
            return
        now = utcnow()
        task.status, task.started_at, task.heartbeat_at, task.worker = (
            TaskStatus.RUNNING,
            now,
            now,
            WORKER,
        )
        db.commit()
        kind = TaskKind(task.kind)
        by = db.get(User, task.created_by) if task.created_by else None
        try:
            result = self.jobs[kind](Work(db, self.settings, by, Progress(db, task_id)))
        except Exception as exc:
            db.rollback()
            log.exception("maintenance task %s (%s) failed", task_id, kind)
            self._end(db, task_id, by, failure=_message_of(exc))
            return
        self._end(db, task_id, by, result=result)

    def _end(
        self,
        db: Session,
        task_id: uuid.UUID,
        by: User | None,
        *,
        result: dict[str, Any] | None = None,
        failure: str = "",
    ) -> None:
        task = db.get(AdminTask, task_id, with_for_update=True, populate_existing=True)
        if task is None or task.status is not TaskStatus.RUNNING:
            db.rollback()  # declared interrupted meanwhile: that verdict stands
            log.warning("maintenance task %s ended after it was declared interrupted", task_id)
            return
        task.status = TaskStatus.FAILED if failure else TaskStatus.SUCCEEDED
        task.message, task.result = failure, result or {}
        task.finished_at = task.heartbeat_at = utcnow()
        if not failure:
            task.progress = task.total = max(task.total, 1)
        details = {"task": str(task.id), **_summary(task.result)}
        if failure:
            details["error"] = failure
        audit.record(
            db,
            ACTIONS[TaskKind(task.kind)],
            actor=by,
            target_type="task",
            target_id=task.id,
            target_label=kind_label(task.kind),
            details=details,
            success=not failure,
        )
        db.commit()


def _message_of(exc: Exception) -> str:
    if isinstance(exc, ShipyardError):
        return exc.message
    return _("The task failed unexpectedly; the manager's log has the details.")


def _summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """The result in the audit log: counts instead of lists."""
    return {key: len(value) if isinstance(value, list) else value for key, value in result.items()}


_lock = threading.Lock()


def runner_of(state: Any) -> Runner:
    """The app's runner (app.state.task_runner), made on first use; tests put a double first."""
    with _lock:
        runner: Runner | None = getattr(state, "task_runner", None)
        if runner is None:
            runner = Runner(state.db, state.settings, jobs=JOBS)
            state.task_runner = runner
        return runner
