"""Maintenance tasks: started by an admin, run in the background by a manager, followed by
the console (progress survives a page reload because it lives here, not in the page)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.db import Base, UTCDateTime, new_id, str_enum, utcnow


class TaskKind(enum.StrEnum):
    RECALCULATE_USAGE = "recalculate_usage"
    RESCAN_ENVIRONMENTS = "rescan_environments"


class TaskStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class AdminTask(Base):
    __tablename__ = "admin_tasks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[TaskKind] = mapped_column(String(32))
    status: Mapped[TaskStatus] = mapped_column(
        str_enum(TaskStatus, "task_status"), default=TaskStatus.QUEUED, index=True
    )
    progress: Mapped[int] = mapped_column(default=0)  # steps done out of total
    total: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(Text, default="")  # why it failed, if it did
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    worker: Mapped[str] = mapped_column(String(128), default="")  # host:pid running it
