"""What the admin API says about every user's sessions: a keyset page, and a termination."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shipyard.sessions.schemas import SessionPublic
from shipyard.validation import NO_NUL

#: the longest reason an administrator may give (it is shown to the owner with a prefix)
MAX_REASON = 200


class AdminSessionsPublic(BaseModel):
    """One page, newest first; follow `next` / `previous` as the `after` / `before` cursor."""

    data: list[SessionPublic]
    count: int = Field(description="how many match, counted up to a cap (see `more`)")
    more: bool = Field(description="true: more than `count` match")
    next: str | None = Field(description="cursor of the next (older) page; null: none")
    previous: str | None = Field(description="cursor of the previous (newer) page; null: none")


class TerminateIn(BaseModel):
    """Why the session ends; the owner reads it on their session page and in the CLI."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=1024, pattern=NO_NUL)
