"""Compute sessions and their lifecycle."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String, Text
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
        # The admin list: newest first, keyset-paged, alone or by status, group or project.
        Index("ix_sessions_created", "created_at", "id"),
        Index("ix_sessions_status_created", "status", "created_at", "id"),
        Index("ix_sessions_group_created", "resource_group_id", "created_at", "id"),
        Index("ix_sessions_project_created", "project_id", "created_at", "id"),
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


class SessionLog(Base):
    """The manager's copy of a session's output: at most its last `max_bytes` (sessions/logs.py).

    Offsets count bytes of the whole output as the agent serves it; bytes before `kept_from`
    were dropped to stay within `max_bytes`. `complete`: the agent has nothing more to give.
    """

    __tablename__ = "session_logs"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    kept_from: Mapped[int] = mapped_column(BigInteger, default=0)
    read_to: Mapped[int] = mapped_column(BigInteger, default=0)  # the agent's next offset
    max_bytes: Mapped[int] = mapped_column(BigInteger)
    complete: Mapped[bool] = mapped_column(default=False)


class SessionLogChunk(Base):
    """Output bytes [start, stop) of a session, as one read from its agent brought them."""

    __tablename__ = "session_log_chunks"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("session_logs.session_id", ondelete="CASCADE"), primary_key=True
    )
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    stop: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
