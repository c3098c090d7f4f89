"""Preferences on the wire: settings, personal API tokens and SSH keys of the caller.

Lengths and ranges are checked by the services, so a refusal says what is wrong in words;
the schemas only keep NUL characters and absurd sizes out.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shipyard.users.models import Theme
from shipyard.validation import NO_NUL


class PreferencesPublic(BaseModel):
    language: str | None = Field(description="None: the browser's language")
    theme: Theme
    notify_session_changes: bool
    idle_logout_minutes: int | None = Field(description="None: the server's default")
    idle_minutes_in_force: int = Field(description="The idle limit that applies now")


class PreferencesUpdate(BaseModel):
    """Only the fields sent change; null resets language and idle limit to the defaults."""

    model_config = ConfigDict(extra="forbid")

    language: str | None = Field(default=None, max_length=16, pattern=NO_NUL)
    theme: str = Field(default="", max_length=16, pattern=NO_NUL)
    notify_session_changes: bool = False
    idle_logout_minutes: int | None = None


class ApiTokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str = Field(description="The first characters of the token, to recognise it")
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class ApiTokensPublic(BaseModel):
    data: list[ApiTokenPublic]
    count: int


class ApiTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=1024, pattern=NO_NUL)
    expires_in_days: int | None = Field(
        default=None, description="1 to the server's maximum; default: the maximum"
    )


class ApiTokenCreated(ApiTokenPublic):
    token: str = Field(description="The raw token; shown once, store it safely.")


class SshKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    fingerprint: str = Field(description="SHA256:..., as ssh-keygen -l shows it")
    public_key: str
    created_at: datetime


class SshKeysPublic(BaseModel):
    data: list[SshKeyPublic]
    count: int


class SshKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key: str = Field(max_length=20000, pattern=NO_NUL)
    name: str = Field(default="", max_length=1024, pattern=NO_NUL)
