"""Folder, file and invitation shapes on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shipyard.storage.models import FolderKind, InvitationState, Perm, UsageMode
from shipyard.validation import NO_NUL

# The same rule as a session's mount name: folders appear as /home/work/<name>.
FOLDER_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
EMAIL = r"^[^@\s\x00]{1,64}@[^@\s\x00]{1,189}$"


class FolderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=FOLDER_NAME, max_length=64)
    host: str | None = Field(default=None, max_length=64, pattern=NO_NUL)
    usage_mode: UsageMode = UsageMode.GENERAL
    project: str | None = Field(
        default=None, max_length=64, pattern=NO_NUL, description="create a project folder"
    )


class FolderRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=FOLDER_NAME, max_length=64)


class FolderPublic(BaseModel):
    id: uuid.UUID
    name: str  # as the caller sees it (a share may be renamed to avoid a clash)
    folder_name: str  # the owner's name for it
    host: str
    usage_mode: UsageMode
    kind: FolderKind  # "home": the owner's home, at /home/work in each of their sessions
    owner: str  # an email, or the project's name
    ownership: str  # "user" or "project"
    via: str  # own, project, shared, admin
    permission: str  # owner, wd, rw, ro, admin
    shared_by: str | None
    used_bytes: int
    max_size: int | None  # bytes; None: no limit
    created_at: datetime


class FoldersPublic(BaseModel):
    data: list[FolderPublic]
    count: int
    max_folder_count: int | None  # the caller's own folder limit; None: unlimited
    own_count: int


class FileEntry(BaseModel):
    name: str
    path: str
    type: str  # "file", "dir", "link" or "other" (a FIFO, socket or device: not downloadable)
    size: int
    modified: datetime


class FilesPublic(BaseModel):
    path: str
    data: list[FileEntry]
    count: int
    offset: int
    limit: int


class MkdirRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=4096)


class MoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=4096)
    target: str = Field(min_length=1, max_length=4096)


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(pattern=EMAIL, max_length=254)
    permission: Perm = Perm.RO


class PermissionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    permission: Perm


class InvitationPublic(BaseModel):
    id: uuid.UUID
    folder_id: uuid.UUID
    folder: str
    inviter: str
    invitee: str
    permission: Perm
    state: InvitationState
    created_at: datetime


class InvitationsPublic(BaseModel):
    data: list[InvitationPublic]
    count: int


class SharePublic(BaseModel):
    user: str
    permission: Perm
    since: datetime


class SharesPublic(BaseModel):
    shares: list[SharePublic]
    pending: list[InvitationPublic]
