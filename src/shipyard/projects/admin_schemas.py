"""Project shapes for administrators: settings, members, allowed resource groups, usage."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shipyard.projects.models import MemberRole
from shipyard.validation import NO_NUL

Name = Annotated[str, Field(max_length=64, pattern=NO_NUL)]
Description = Annotated[str, Field(max_length=1024, pattern=NO_NUL)]


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""
    resource_policy: Name | None = Field(default=None, description="name or id; null: default")
    resource_groups: list[Name] | None = Field(
        default=None, description="names; omitted: the default group", max_length=1000
    )


class ProjectUpdate(BaseModel):
    """What a PATCH may change; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    is_active: bool | None = None
    resource_policy: Name | None = Field(
        default=None, description="project policy name or id; null: the default policy"
    )
    resource_groups: list[Name] | None = Field(
        default=None, description="the resource groups it may use, by name", max_length=1000
    )


class PolicyRef(BaseModel):
    id: uuid.UUID
    name: str
    is_default: bool


class ProjectAdminPublic(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    is_active: bool
    member_count: int
    resource_policy: PolicyRef = Field(description="the policy in force (maybe the default)")
    own_policy: bool = Field(description="false when the project works under the default")
    resource_groups: list[str]
    usage: dict[str, str] = Field(description="slots its sessions hold now, from the ledger")
    sessions: int = Field(description="sessions holding resources now")


class ProjectsAdminPublic(BaseModel):
    data: list[ProjectAdminPublic]
    count: int


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(max_length=254, pattern=NO_NUL)]
    role: MemberRole = MemberRole.MEMBER


class MemberChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: MemberRole


class MemberPublic(BaseModel):
    user_id: uuid.UUID
    email: str
    full_name: str
    role: MemberRole
    active: bool


class MembersPublic(BaseModel):
    data: list[MemberPublic]
    count: int
