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
    otp: str | None = Field(
        default=None,
        max_length=32,
        pattern=NO_NUL,
        description="The one-time password (or a recovery code) of an account with 2FA on.",
    )


class TokenIssued(BaseModel):
    token: str = Field(description="The raw token; shown once, store it safely.")
    token_id: uuid.UUID
    name: str
    expires_at: datetime | None
    user: UserPublic


class TwoFactorStatus(BaseModel):
    available: bool = Field(description="False where the server has two-factor login off.")
    enabled: bool
    required: bool = Field(description="The server requires it of this account (admins).")
    recovery_codes_left: int


class TwoFactorSetup(BaseModel):
    secret: str = Field(description="The key for manual entry (base32).")
    uri: str = Field(description="The otpauth:// URI an authenticator app scans.")


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=NO_NUL)


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once; each works once.")
