"""The audit log as the API and the console read it: a filter, one entry, one page."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shipyard.validation import NO_NUL

PAGE_SIZE = 50
MAX_PAGE = 100_000

Result = Literal["", "success", "failure"]


class AuditFilter(BaseModel):
    """Which entries to show; every field is optional and the given ones all apply."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)

    actor: str = Field(
        default="", max_length=254, pattern=NO_NUL, description="Part of the actor's email."
    )
    action: str = Field(
        default="",
        max_length=64,
        pattern=r"^[a-z0-9_.*]*$",
        description="An action (`auth.login`) or a family of them (`user.*`).",
    )
    target_type: str = Field(
        default="",
        max_length=32,
        pattern=r"^[a-z_]*$",
        description="What the target is: user, project, folder ...",
    )
    target: str = Field(
        default="", max_length=255, pattern=NO_NUL, description="Part of the target's name or id."
    )
    address: str = Field(
        default="", max_length=64, pattern=NO_NUL, description="Part of the client address."
    )
    result: Result = Field(default="", description="success or failure; empty for both.")
    since: date | None = Field(default=None, description="From this day on (UTC).")
    until: date | None = Field(default=None, description="Up to and including this day (UTC).")

    @field_validator("since", "until", mode="before")
    @classmethod
    def _blank_day(cls, value: Any) -> Any:
        """An empty form field means no limit."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("result", mode="before")
    @classmethod
    def _blank_result(cls, value: Any) -> Any:
        return "" if value is None else value

    @model_validator(mode="after")
    def _ordered(self) -> AuditFilter:
        if self.since and self.until and self.since > self.until:
            raise ValueError("the first day comes after the last")
        return self

    def is_empty(self) -> bool:
        return self == AuditFilter()

    def query(self) -> dict[str, str]:
        """The filter as URL query parameters (empty fields left out)."""
        values = self.model_dump(exclude_defaults=True)
        return {key: str(value) for key, value in values.items()}


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    actor_email: str
    action: str
    target_type: str
    target_id: str
    target_label: str
    client_address: str
    success: bool
    details: dict[str, Any]


class AuditEntriesPublic(BaseModel):
    data: list[AuditEntryPublic]
    count: int = Field(description="How many entries match the filter, over all pages.")
