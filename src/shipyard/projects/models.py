"""Projects and their members; every user belongs to the default project."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.db import Base, UTCDateTime, new_id, str_enum, utcnow
from shipyard.i18n import _

DEFAULT_PROJECT = "default"
# The default project's description as seeded, in English; shown in the reader's language.
SEEDED_DESCRIPTION = "Every user belongs here."


class MemberRole(enum.StrEnum):
    OWNER = "owner"
    MEMBER = "member"


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    resource_policy_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("resource_policies.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def shown_description(self) -> str:
        """The description to show: the seeded one in the reader's language (one database
        serves every language, so the seed is translated when read), an admin's as written."""
        if self.description == SEEDED_DESCRIPTION:
            return _("Every user belongs here.")
        return self.description


class ProjectMember(Base):
    __tablename__ = "project_members"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[MemberRole] = mapped_column(
        str_enum(MemberRole, "member_role"),
        default=MemberRole.MEMBER,
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
