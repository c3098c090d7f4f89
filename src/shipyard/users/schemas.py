"""User shapes on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shipyard.projects.schemas import ProjectPublic
from shipyard.users.models import Role, Theme, UserStatus
from shipyard.validation import NO_NUL


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    status: UserStatus
    created_at: datetime


class MePublic(BaseModel):
    user: UserPublic
    language: str | None
    theme: Theme
    projects: list[ProjectPublic]
    current_project: ProjectPublic | None


class AccountUpdate(BaseModel):
    """PATCH /me: one's own name (1 to 64 characters, checked by the service)."""

    full_name: str = Field(max_length=1024, pattern=NO_NUL)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(max_length=1024, pattern=NO_NUL)
    new_password: str = Field(max_length=1024, pattern=NO_NUL)


class PasswordChanged(BaseModel):
    """What a password change ended: the other web sessions and every API token."""

    message: str
    web_sessions_ended: int
    api_tokens_revoked: int
