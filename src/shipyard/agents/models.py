"""Resource groups, the agents in them, and the tokens agents register with."""

from __future__ import annotations

import enum
import math
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from shipyard.db import Base, UTCDateTime, new_id, str_enum, utcnow
from shipyard.resources.slots import ResourceSlots, to_units

DEFAULT_GROUP = "default"


class Placement(enum.StrEnum):
    BINPACK = "binpack"
    SPREAD = "spread"


class NetworkMode(enum.StrEnum):
    """What a session's network namespace reaches (shipyard.agent.network)."""

    NONE = "none"  # loopback alone
    OUTBOUND = "outbound"  # the outside, but never the host, link-local or private ranges


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
    network_mode: Mapped[NetworkMode] = mapped_column(
        str_enum(NetworkMode, "network_mode"), default=NetworkMode.OUTBOUND
    )
    # site services sessions may reach despite the private ranges: "10.1.2.0/24" or "10.1.2.3:443"
    network_allow: Mapped[list[str]] = mapped_column(JSON, default=list)
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
    """A node that runs sessions; its id is chosen by the agent and kept across restarts.

    The numeric columns after `capacity` mirror the JSON fields (kept in step by the
    validators below, whatever sets them) so pages sum 1,000 agents in SQL without decoding
    JSON: capacity in ledger units (millicores, bytes, devices), live use the same way (GPU
    use in percent points summed over devices), and whether enforcement is incomplete.
    """

    __tablename__ = "agents"
    __table_args__ = (Index("ix_agents_unenforced_status", "unenforced", "status"),)

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
    cpu_capacity: Mapped[int] = mapped_column(BigInteger, default=0)
    mem_capacity: Mapped[int] = mapped_column(BigInteger, default=0)
    gpu_capacity: Mapped[int] = mapped_column(BigInteger, default=0)
    cpu_used: Mapped[int] = mapped_column(BigInteger, default=0)
    mem_used: Mapped[int] = mapped_column(BigInteger, default=0)
    gpu_used: Mapped[int] = mapped_column(BigInteger, default=0)
    unenforced: Mapped[bool] = mapped_column(default=False)
    desired_version: Mapped[int] = mapped_column(default=0)
    api_secret: Mapped[str] = mapped_column(String(128), default="")  # manager -> agent calls
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    @property
    def capacity_slots(self) -> ResourceSlots:
        return ResourceSlots.from_json(self.capacity)

    @validates("capacity")
    def _capacity_figures(self, _key: str, value: dict[str, Any]) -> dict[str, Any]:
        self.cpu_capacity, self.mem_capacity, self.gpu_capacity = capacity_units(value)
        return value

    @validates("utilization")
    def _used_figures(self, _key: str, value: dict[str, Any]) -> dict[str, Any]:
        self.cpu_used, self.mem_used, self.gpu_used = used_units(value, self.cpu_capacity or 0)
        return value

    @validates("enforcement")
    def _enforcement_figure(self, _key: str, value: dict[str, Any]) -> dict[str, Any]:
        self.unenforced = is_unenforced(value)
        return value


def capacity_units(capacity: dict[str, Any] | None) -> tuple[int, int, int]:
    """(millicores, bytes, devices) of an agent's capacity JSON."""
    slots = ResourceSlots.from_json(capacity)
    return (
        to_units("cpu", slots["cpu"]),
        to_units("mem", slots["mem"]),
        to_units("cuda.device", slots["cuda.device"]),
    )


def used_units(utilization: dict[str, Any] | None, cpu_capacity: int) -> tuple[int, int, int]:
    """(millicores busy, bytes in use, GPU percent points) of a heartbeat's utilisation;
    anything missing or malformed counts as zero."""
    use = utilization or {}
    gpus = use.get("gpus")
    busy = [g.get("util") for g in gpus if isinstance(g, dict)] if isinstance(gpus, list) else []
    return (
        _clamp(cpu_capacity * _number(use.get("cpu_percent")) / 100),
        _clamp(_number(use.get("mem_used"))),
        _clamp(sum(_number(u) for u in busy)),
    )


def _number(value: object) -> float:
    """A reported number, or 0 for anything else (missing, bool, NaN, infinite)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return 0.0


def _clamp(value: float) -> int:
    """A reported figure as a column can hold it (an agent's nonsense stays harmless)."""
    return min(max(0, int(value)), 2**62)


def is_unenforced(enforcement: dict[str, Any] | None) -> bool:
    """True when the agent runs without a sandbox or without cgroups (admins are told)."""
    report = enforcement or {}
    return report.get("sandbox") == "none" or report.get("cgroups") == "none"


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
