"""The announcement on the wire."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

MAX_LENGTH = 5000
# Bodies up to this size arrive, so the service can say what is wrong (over MAX_LENGTH).
BODY_LIMIT = 4 * MAX_LENGTH


class AnnouncementSet(BaseModel):
    message: str = Field(max_length=BODY_LIMIT)
    enabled: bool = True


class AnnouncementPreview(BaseModel):
    message: str = Field(max_length=BODY_LIMIT)


class AnnouncementPublic(BaseModel):
    """`html` is the message rendered exactly as the banner shows it."""

    message: str
    html: str
    enabled: bool
    updated_at: datetime | None
    updated_by: str | None = None


class PreviewPublic(BaseModel):
    html: str
