"""Environments: what a session runs (an interpreter or a command) and which apps it offers."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.db import Base, UTCDateTime, new_id, str_enum, utcnow


class EnvironmentSource(enum.StrEnum):
    BUILTIN = "builtin"
    ADMIN = "admin"
    SCAN = "scan"


class Environment(Base):
    __tablename__ = "environments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    interpreter: Mapped[str] = mapped_column(String(1024), default="")  # absolute path or ""
    path_prefix: Mapped[str] = mapped_column(String(1024), default="")  # bin dir put on PATH
    apps: Mapped[list[Any]] = mapped_column(JSON, default=list)  # ["terminal"]
    enabled: Mapped[bool] = mapped_column(default=True)
    # An admin turned it off: a rescan that finds it again must not turn it back on.
    disabled_by_admin: Mapped[bool] = mapped_column(default=False, server_default=false())
    source: Mapped[EnvironmentSource] = mapped_column(
        str_enum(EnvironmentSource, "environment_source"), default=EnvironmentSource.ADMIN
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
