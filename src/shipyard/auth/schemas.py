"""Login and token shapes on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shipyard.users.schemas import UserPublic
from shipyard.validation import NO_NUL


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=254, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=1024, pattern=NO_NUL)
    token_name: str = Field(default="cli", min_length=1, max_length=64, pattern=NO_NUL)


class TokenIssued(BaseModel):
    token: str = Field(description="The raw token; shown once, store it safely.")
    token_id: uuid.UUID
    name: str
    expires_at: datetime | None
    user: UserPublic
