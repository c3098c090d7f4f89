"""Environments: what a session runs (an interpreter or a command) and which apps it offers."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.db import Base, UTCDateTime, new_id, str_enum, utcnow


class EnvironmentSource(enum.StrEnum):
    BUILTIN = "builtin"
    ADMIN = "admin"
    SCAN = "scan"


class EnvironmentKind(enum.StrEnum):
    HOST = "host"  # the host's interpreter (or a virtual environment on it)
    IMAGE = "image"  # an OCI image in the manager's image store


class EnvironmentStatus(enum.StrEnum):
    """Whether sessions may use it: only READY ones; the others are an image's job."""

    READY = "ready"
    IMPORTING = "importing"
    BUILDING = "building"
    FAILED = "failed"
    DELETED = "deleted"  # its image removed; kept only because finished sessions name it


class EnvironmentScope(enum.StrEnum):
    GLOBAL = "global"  # made by an admin, offered to everyone
    PROJECT = "project"
    USER = "user"


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

    kind: Mapped[EnvironmentKind] = mapped_column(
        str_enum(EnvironmentKind, "environment_kind"),
        default=EnvironmentKind.HOST,
        server_default=EnvironmentKind.HOST.value,
    )
    status: Mapped[EnvironmentStatus] = mapped_column(
        str_enum(EnvironmentStatus, "environment_status"),
        default=EnvironmentStatus.READY,
        server_default=EnvironmentStatus.READY.value,
    )
    scope: Mapped[EnvironmentScope] = mapped_column(
        str_enum(EnvironmentScope, "environment_scope"),
        default=EnvironmentScope.GLOBAL,
        server_default=EnvironmentScope.GLOBAL.value,
    )
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # An image environment: its name in the manager's ImageStore and, once ready, its
    # manifest digest and the bytes of all its blobs.
    image_ref: Mapped[str | None] = mapped_column(String(128), default=None)
    image_digest: Mapped[str | None] = mapped_column(String(71), default=None)
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Where the image comes from ({"registry": {...}} | {"archive": {...}} | {"build": {...}}),
    # never with credentials: those are in `credentials`, encrypted (environments/secrets.py).
    image_source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    credentials: Mapped[str | None] = mapped_column(Text, default=None)
    lock: Mapped[str] = mapped_column(Text, default="", server_default="")  # a build's uv lock
    error: Mapped[str] = mapped_column(Text, default="", server_default="")
    # {"done": bytes, "total": bytes | None, "line": the tool's last line}
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    log: Mapped[str] = mapped_column(Text, default="", server_default="")  # the last LOG_KIB
    worker: Mapped[str] = mapped_column(String(128), default="", server_default="")  # host:pid
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
