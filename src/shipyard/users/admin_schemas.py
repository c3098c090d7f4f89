"""User administration on the wire: the list, create, update, deactivate and password reset.

Projects and policies are named by id or by name; lengths and rules are checked by the
service (users.admin), so a refusal says what is wrong in words.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shipyard.projects.models import MemberRole
from shipyard.users.models import Role, UserStatus
from shipyard.validation import NO_NUL

Ref = Field(max_length=254, pattern=NO_NUL)


class MembershipPublic(BaseModel):
    id: uuid.UUID
    name: str
    role: MemberRole


class PolicyRef(BaseModel):
    id: uuid.UUID
    name: str
    is_default: bool


class AdminUserPublic(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    status: UserStatus
    totp_enabled: bool
    created_at: datetime
    projects: list[MembershipPublic]
    resource_policy: PolicyRef


class AdminUsersPublic(BaseModel):
    data: list[AdminUserPublic]
    count: int


class MembershipIn(BaseModel):
    """A project (id or name) and the user's role in it."""

    model_config = ConfigDict(extra="forbid")

    project: str = Ref
    role: MemberRole = MemberRole.MEMBER


class AdminUserCreate(BaseModel):
    """A new account. Give `password`, or `generate_password` for one shown once."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=1024, pattern=NO_NUL)
    full_name: str = Field(default="", max_length=1024, pattern=NO_NUL)
    role: Role = Role.USER
    password: str | None = Field(default=None, max_length=1024, pattern=NO_NUL)
    generate_password: bool = False
    resource_policy: str | None = Field(
        default=None, max_length=254, pattern=NO_NUL, description="id or name; none: the default"
    )
    projects: list[MembershipIn | str] = Field(
        default_factory=list, max_length=1000, description="besides the default project"
    )


class AdminUserUpdate(BaseModel):
    """Only the fields given change; `resource_policy: null` returns to the default policy,
    `projects` replaces the memberships (the default project always stays)."""

    model_config = ConfigDict(extra="forbid")

    full_name: str | None = Field(default=None, max_length=1024, pattern=NO_NUL)
    role: Role | None = None
    status: UserStatus | None = None
    resource_policy: str | None = Field(default=None, max_length=254, pattern=NO_NUL)
    projects: list[MembershipIn | str] | None = Field(default=None, max_length=1000)


class AdminUserCreated(AdminUserPublic):
    generated_password: str | None = Field(
        description="the generated password, shown this once; null when one was given"
    )


class PasswordResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(default=None, max_length=1024, pattern=NO_NUL)
    generate: bool = False


class PasswordResetDone(BaseModel):
    user: AdminUserPublic
    generated_password: str | None
    web_sessions_ended: int
    api_tokens_revoked: int


class DeactivationDone(BaseModel):
    """What deactivating ended; the user's folders and files stay."""

    user: AdminUserPublic
    sessions_ended: int
    invitations_canceled: int
    web_sessions_ended: int
    api_tokens_revoked: int
