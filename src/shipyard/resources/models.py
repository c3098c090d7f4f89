"""The one ledger of DESIGN §4: what occupying sessions hold, summed per scope and slot."""

from __future__ import annotations

import enum

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.db import Base, str_enum

SESSIONS_SLOT = "sessions"  # counts occupying sessions next to the resource slots


class Scope(enum.StrEnum):
    USER = "user"
    PROJECT = "project"
    GROUP = "group"
    AGENT = "agent"


class Usage(Base):
    """amount is in storage units (slots.to_units): exact integers on every database."""

    __tablename__ = "resource_usage"

    scope: Mapped[Scope] = mapped_column(str_enum(Scope, "usage_scope"), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[str] = mapped_column(String(32), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
