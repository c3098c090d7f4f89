"""User shapes on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shipyard.projects.schemas import ProjectPublic
from shipyard.users.models import Role, Theme, UserStatus


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
