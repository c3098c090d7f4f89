"""Compute sessions and their lifecycle."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.db import Base, UTCDateTime, new_id, str_enum, utcnow
from shipyard.resources.slots import ResourceSlots


class SessionType(enum.StrEnum):
    INTERACTIVE = "interactive"
    BATCH = "batch"


class SessionStatus(enum.StrEnum):
    PENDING = "PENDING"
    SCHEDULED = "SCHEDULED"
    PREPARING = "PREPARING"
    RUNNING = "RUNNING"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"


# The statuses whose sessions hold resources: the ledger counts exactly these.
OCCUPYING = frozenset(
    {
        SessionStatus.SCHEDULED,
        SessionStatus.PREPARING,
        SessionStatus.RUNNING,
        SessionStatus.TERMINATING,
    }
)
FINISHED = frozenset({SessionStatus.TERMINATED, SessionStatus.ERROR, SessionStatus.CANCELLED})


class ComputeSession(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_status_group_created", "status", "resource_group_id", "created_at"),
        Index("ix_sessions_owner_status", "owner_id", "status"),
        Index("ix_sessions_agent_status", "agent_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), index=True)
    resource_group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resource_groups.id"))
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"), default=None)
    environment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("environments.id"))
    type: Mapped[SessionType] = mapped_column(str_enum(SessionType, "session_type"))
    command: Mapped[str] = mapped_column(Text, default="")
    requested: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    mounts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[SessionStatus] = mapped_column(
        str_enum(SessionStatus, "session_status"), default=SessionStatus.PENDING
    )
    status_info: Mapped[str] = mapped_column(String(255), default="")
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{status, at, reason}]
    exit_code: Mapped[int | None] = mapped_column(default=None)
    max_lifetime: Mapped[int | None] = mapped_column(default=None)  # seconds, from the policy
    idle_timeout: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    @property
    def slots(self) -> ResourceSlots:
        return ResourceSlots.from_json(self.requested)
