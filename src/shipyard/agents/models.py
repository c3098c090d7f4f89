"""Resource groups, the agents in them, and the tokens agents register with."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.db import Base, UTCDateTime, new_id, str_enum, utcnow
from shipyard.slots import ResourceSlots

DEFAULT_GROUP = "default"


class Placement(enum.StrEnum):
    BINPACK = "binpack"
    SPREAD = "spread"


class AgentStatus(enum.StrEnum):
    ALIVE = "ALIVE"
    LOST = "LOST"
    TERMINATED = "TERMINATED"


class ResourceGroup(Base):
    __tablename__ = "resource_groups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    placement: Mapped[Placement] = mapped_column(
        str_enum(Placement, "placement"), default=Placement.BINPACK
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResourceGroupProject(Base):
    """Which projects may use which resource groups."""

    __tablename__ = "resource_group_projects"

    resource_group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("resource_groups.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Agent(Base):
    """A node that runs sessions; its id is chosen by the agent and kept across restarts."""

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("resource_groups.id"), index=True
    )
    status: Mapped[AgentStatus] = mapped_column(
        str_enum(AgentStatus, "agent_status"), default=AgentStatus.ALIVE, index=True
    )
    schedulable: Mapped[bool] = mapped_column(default=True)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    addr: Mapped[str] = mapped_column(String(255), default="")
    version: Mapped[str] = mapped_column(String(32), default="")
    capacity: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    utilization: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enforcement: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    accelerators: Mapped[list[Any]] = mapped_column(JSON, default=list)
    desired_version: Mapped[int] = mapped_column(default=0)
    api_secret: Mapped[str] = mapped_column(String(128), default="")  # manager -> agent calls
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    @property
    def capacity_slots(self) -> ResourceSlots:
        return ResourceSlots.from_json(self.capacity)


class AgentToken(Base):
    """A secret an admin hands to an agent; it may register into one resource group."""

    __tablename__ = "agent_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    resource_group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("resource_groups.id", ondelete="CASCADE")
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
