"""What the API and the console show of a maintenance task."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shipyard.maintenance.models import TaskKind


class TaskState(enum.StrEnum):
    """A task's status as people see it: a running task whose manager stopped is interrupted."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class TaskStart(BaseModel):
    kind: TaskKind


class TaskPublic(BaseModel):
    id: uuid.UUID
    kind: TaskKind
    state: TaskState
    progress: int
    total: int
    percent: int
    message: str
    result: dict[str, Any]
    started_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None

    @property
    def active(self) -> bool:
        return self.state in (TaskState.QUEUED, TaskState.RUNNING)


class TasksPublic(BaseModel):
    data: list[TaskPublic]
    count: int
