"""Project shapes on the wire."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict


class ProjectPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str


class ProjectsPublic(BaseModel):
    data: list[ProjectPublic]
    count: int


class ProjectSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: uuid.UUID
