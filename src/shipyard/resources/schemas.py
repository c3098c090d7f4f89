"""Whether a request fits now, as the launcher, the API and creation report it."""

from __future__ import annotations

from pydantic import BaseModel


class Block(BaseModel):
    limit: str  # "user", "project", "sessions", "pending", "group"
    slots: list[str]
    message: str


class FitReport(BaseModel):
    fits: bool
    blocked_by: list[Block]
    remaining: dict[str, dict[str, str]]  # limit -> slot -> exact amount ("inf": unlimited)
