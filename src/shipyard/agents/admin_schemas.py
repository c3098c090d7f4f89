"""What the admin API says about agents, resource groups and agent tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from shipyard.agents.models import AgentStatus, NetworkMode, Placement
from shipyard.validation import NO_NUL

GROUP_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
#: at most this many allow-list entries once duplicates are gone (groups_admin checks)
MAX_ALLOW = 64
# generous bounds for the body alone; groups_admin says what is wrong with each entry
AllowEntries = Annotated[list[Annotated[str, Field(max_length=256)]], Field(max_length=1000)]
ALLOW_HELP = (
    'Site services sessions may reach despite the private ranges: IPv4 networks ("10.1.2.0/24") '
    f'or NETWORK:PORT ("10.1.2.3:443"); duplicates are dropped, at most {MAX_ALLOW}.'
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SlotFigure(BaseModel):
    """One resource of an agent or group: exact amounts on the wire, plus a short display."""

    slot: str
    used: str
    capacity: str
    shown: str = Field(description="For people: '2 / 8', '1.5 GiB / 16 GiB'.")


class AgentAdmin(BaseModel):
    id: str
    hostname: str
    resource_group: str
    status: AgentStatus
    schedulable: bool
    version: str
    addr: str
    slots: list[SlotFigure]
    sessions: int = Field(description="Sessions occupying the agent now.")
    utilization: dict[str, Any]
    enforcement: dict[str, Any]
    accelerators: list[Any]
    first_seen_at: datetime
    last_heartbeat_at: datetime
    lost_at: datetime | None


class AgentsAdmin(BaseModel):
    data: list[AgentAdmin]
    count: int


class AgentUpdate(Strict):
    """Drain (schedulable false) or undrain an agent, or move it to another group."""

    schedulable: bool | None = None
    resource_group: str | None = Field(default=None, min_length=1, max_length=64, pattern=NO_NUL)


class GroupAdmin(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    is_active: bool
    placement: Placement
    network_mode: NetworkMode = Field(
        description="none: loopback only; outbound: the outside, never the host, link-local "
        "or private ranges."
    )
    network_allow: list[str] = Field(description=ALLOW_HELP)
    agents_alive: int
    agents_total: int
    slots: list[SlotFigure] = Field(description="Used by sessions vs live schedulable capacity.")
    sessions: int
    projects: list[str]
    created_at: datetime


class GroupsAdmin(BaseModel):
    data: list[GroupAdmin]
    count: int


class GroupCreate(Strict):
    name: str = Field(min_length=1, max_length=64, pattern=GROUP_NAME)
    description: str = Field(default="", max_length=1000, pattern=NO_NUL)
    placement: Placement = Placement.BINPACK
    is_active: bool = True
    network_mode: NetworkMode = NetworkMode.OUTBOUND
    network_allow: AllowEntries = Field(default_factory=list, description=ALLOW_HELP)


class GroupUpdate(Strict):
    description: str | None = Field(default=None, max_length=1000, pattern=NO_NUL)
    placement: Placement | None = None
    is_active: bool | None = None
    network_mode: NetworkMode | None = None
    network_allow: AllowEntries | None = Field(
        default=None, description=ALLOW_HELP + " Replaces the list."
    )


class GroupProjects(Strict):
    """The projects that may use a group (replaces the list): names or ids."""

    projects: list[str] = Field(max_length=10000)


class AgentTokenCreate(Strict):
    resource_group: str = Field(default="default", min_length=1, max_length=64, pattern=NO_NUL)


class AgentTokenIssued(BaseModel):
    id: uuid.UUID
    token: str = Field(description="Shown once: pass it to `shipyard agent --token`.")
    prefix: str
    resource_group: str
    created_at: datetime


class AgentTokenAdmin(BaseModel):
    id: uuid.UUID
    prefix: str
    resource_group: str
    created_by: str | None
    created_at: datetime
    revoked_at: datetime | None


class AgentTokensAdmin(BaseModel):
    data: list[AgentTokenAdmin]
    count: int
