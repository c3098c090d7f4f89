"""Session shapes on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shipyard.sessions.models import SessionStatus, SessionType
from shipyard.storage.mounts import MAX_MOUNTS
from shipyard.validation import NO_NUL

SESSION_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
FolderRef = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment: str = Field(default="python", min_length=1, max_length=64, pattern=NO_NUL)
    type: SessionType = SessionType.BATCH
    command: str = Field(default="", max_length=65536, pattern=NO_NUL)
    resources: dict[str, str] = Field(default_factory=dict, max_length=16)
    project: str | None = Field(default=None, max_length=64, pattern=NO_NUL)
    resource_group: str | None = Field(default=None, max_length=64, pattern=NO_NUL)
    name: str | None = Field(default=None, pattern=SESSION_NAME)
    mounts: list[FolderRef] = Field(
        default_factory=list,
        max_length=MAX_MOUNTS,
        description="folders (names or ids) to mount at /home/work/<name>",
    )


class SessionEvent(BaseModel):
    status: SessionStatus
    at: datetime
    reason: str


class MountPublic(BaseModel):
    folder_id: uuid.UUID
    name: str  # mounted at /home/work/<name>
    read_only: bool


class SessionPublic(BaseModel):
    id: uuid.UUID
    name: str
    owner: str
    project: str
    resource_group: str
    agent: str | None
    environment: str
    type: SessionType
    command: str
    resources: dict[str, str]
    status: SessionStatus
    status_info: str
    exit_code: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    history: list[SessionEvent]
    mounts: list[MountPublic]


class SessionsPublic(BaseModel):
    data: list[SessionPublic]
    count: int


class LogChunk(BaseModel):
    data: str
    offset: int
    finished: bool
