"""Whether a request fits now, as the launcher, the API and creation report it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Block(BaseModel):
    limit: str  # "user", "project", "sessions", "pending", "group"
    slots: list[str]
    message: str
    by_slot: dict[str, str] = Field(
        default_factory=dict, description="the message for each slot, where it is about slots"
    )


class FitReport(BaseModel):
    fits: bool
    blocked_by: list[Block]
    remaining: dict[str, dict[str, str]] = Field(
        description='limit ("user", "project", "group": the most free on one agent) -> slot '
        '-> exact amount ("inf": unlimited)'
    )
    now: dict[str, str] = Field(
        default_factory=dict,
        description="slot -> what one more session could get now under every limit at once",
    )
    bound: dict[str, str] = Field(
        default_factory=dict,
        description='slot -> the limit that sets `now`: "user", "project", "group", '
        '"sessions" or "pending"',
    )
