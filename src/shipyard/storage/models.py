"""Storage folders, who may use them, invitations to share them, and uploads in progress."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.db import Base, UTCDateTime, new_id, str_enum, utcnow


class UsageMode(enum.StrEnum):
    """What a folder is for; a label that helps people find the right folder."""

    GENERAL = "general"
    DATA = "data"
    MODEL = "model"


class FolderKind(enum.StrEnum):
    """A folder people make, or a user's home: one each, mounted at /home/work (storage.homes)."""

    FOLDER = "folder"
    HOME = "home"


class Perm(enum.StrEnum):
    """A share's permission: read only, read-write, or read-write with delete."""

    RO = "ro"
    RW = "rw"
    WD = "wd"


class InvitationState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELED = "canceled"


class Folder(Base):
    """A folder on a storage host, owned by exactly one user or one project.

    Its directory is `<host path>/<id hex>`; the name is only a label, unique per owner.
    A user's home (`kind` HOME) is named `storage.homes.HOME_NAME`, which no other folder
    may be: so each user has one at most.
    """

    __tablename__ = "folders"
    __table_args__ = (
        CheckConstraint("(owner_user_id IS NULL) <> (owner_project_id IS NULL)", name="one_owner"),
        UniqueConstraint("owner_user_id", "name", name="uq_folders_user_name"),
        UniqueConstraint("owner_project_id", "name", name="uq_folders_project_name"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(64))
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None, index=True
    )
    owner_project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), default=None, index=True
    )
    usage_mode: Mapped[UsageMode] = mapped_column(
        str_enum(UsageMode, "usage_mode"), default=UsageMode.GENERAL
    )
    kind: Mapped[FolderKind] = mapped_column(
        str_enum(FolderKind, "folder_kind"), default=FolderKind.FOLDER, server_default="folder"
    )
    max_size: Mapped[int | None] = mapped_column(BigInteger, default=None)  # bytes; None: none
    used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    used_measured_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def directory_name(self) -> str:
        return self.id.hex


class FolderPermission(Base):
    """A user's access to someone else's folder, granted by an accepted invitation.

    `mount_name` is what the user sees and what sessions mount it as: the folder's name,
    unless that clashes with one of the user's own folders.
    """

    __tablename__ = "folder_permissions"

    folder_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("folders.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    perm: Mapped[Perm] = mapped_column(str_enum(Perm, "folder_perm"))
    mount_name: Mapped[str] = mapped_column(String(64))
    granted_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FolderInvitation(Base):
    """An invitation to an email address: to its account, or (`invitee_id` None) waiting for
    an account with that address, so the inviter is told the same whether one exists."""

    __tablename__ = "folder_invitations"
    __table_args__ = (
        Index("ix_folder_invitations_invitee_state", "invitee_id", "state"),
        Index("ix_folder_invitations_invitee_email_state", "invitee_email", "state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    folder_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("folders.id", ondelete="CASCADE"), index=True
    )
    inviter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    invitee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    invitee_email: Mapped[str] = mapped_column(String(254))  # lower case
    perm: Mapped[Perm] = mapped_column(str_enum(Perm, "folder_perm"))
    state: Mapped[InvitationState] = mapped_column(
        str_enum(InvitationState, "invitation_state"), default=InvitationState.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Upload(Base):
    """A resumable (tus) upload; its bytes so far are its hidden temp file.

    The offset is the temp file's size, never a column: what is on disk is the truth. Once
    complete (`completed_at` set) the file is published under `path` and the row stays until
    it expires, so a client resuming a finished upload learns that it is finished.
    """

    __tablename__ = "uploads"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    folder_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("folders.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(4096))  # target, relative to the folder
    length: Mapped[int] = mapped_column(BigInteger)
    temp_name: Mapped[str] = mapped_column(String(300))
    replace: Mapped[bool] = mapped_column(default=False)  # may overwrite an existing file
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
