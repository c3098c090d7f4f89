"""Who may do what with a folder, and the folders a user may see.

Levels, from least to most: a share's `ro`, `rw`, `wd` (rw + delete), then `owner`. The owner
of a user folder is that user; a project folder is owned by the project's owners and by
administrators who are members, and every other member of the project has `wd` on it.
Administrators who are neither see a folder's metadata in the admin listing (`ADMIN`) and
nothing of its contents: sharing is how anyone, admins included, gets into a user's folder.
A user without any access gets `NotFound`, never a hint that the folder exists.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipyard.errors import Conflict, NotFound, PermissionDenied
from shipyard.i18n import _
from shipyard.projects.models import MemberRole, Project, ProjectMember
from shipyard.storage.models import Folder, FolderPermission, Perm
from shipyard.users.models import User


class Level(enum.IntEnum):
    ADMIN = 1  # an administrator's view of someone else's folder: metadata only
    RO = 2
    RW = 3
    WD = 4
    OWNER = 5


class Action(enum.StrEnum):
    LIST = "list"
    READ = "read"
    WRITE = "write"
    DELETE = "delete"
    INVITE = "invite"
    MANAGE = "manage"  # rename or delete the folder itself


NEEDS = {
    Action.LIST: Level.RO,
    Action.READ: Level.RO,
    Action.WRITE: Level.RW,
    Action.DELETE: Level.WD,
    Action.INVITE: Level.OWNER,
    Action.MANAGE: Level.OWNER,
}
PERM_LEVEL = {Perm.RO: Level.RO, Perm.RW: Level.RW, Perm.WD: Level.WD}


class Via(enum.StrEnum):
    OWN = "own"
    PROJECT = "project"
    SHARED = "shared"
    ADMIN = "admin"


@dataclass(frozen=True)
class Access:
    """A folder as one user sees it: under which name, through what, with which level."""

    folder: Folder
    level: Level
    via: Via
    name: str  # the folder's name, or the share's mount name
    owner_label: str  # the owner's email or the project's name
    shared_by: str | None = None

    def can(self, action: Action) -> bool:
        return self.level >= NEEDS[action]

    @property
    def perm(self) -> str:
        """The badge: "owner", "wd", "rw", "ro" or "admin"."""
        return {
            Level.OWNER: "owner",
            Level.WD: "wd",
            Level.RW: "rw",
            Level.RO: "ro",
            Level.ADMIN: "admin",
        }[self.level]

    def require(self, action: Action) -> None:
        if not self.can(action):
            raise PermissionDenied(_NOT_ALLOWED[action]())


_NOT_ALLOWED = {
    Action.LIST: lambda: _("You may not see the files in this folder."),
    Action.READ: lambda: _("You may not read files in this folder."),
    Action.WRITE: lambda: _("You may only read this folder; changing it needs write access."),
    Action.DELETE: lambda: _("Deleting files in this folder needs the rw + delete permission."),
    Action.INVITE: lambda: _("Only the folder's owner may share it."),
    Action.MANAGE: lambda: _("Only the folder's owner may rename or delete it."),
}


def project_level(user: User, role: MemberRole | None) -> Level:
    if role is MemberRole.OWNER or user.is_admin:
        return Level.OWNER
    return Level.WD


def accessible(db: Session, user: User) -> list[Access]:
    """Every folder the user may use: own, their projects', shared with them (3 statements)."""
    found = [
        Access(
            folder=folder, level=Level.OWNER, via=Via.OWN, name=folder.name, owner_label=user.email
        )
        for folder in db.scalars(
            select(Folder).where(Folder.owner_user_id == user.id).order_by(Folder.name)
        )
    ]
    projects = db.execute(
        select(Folder, Project.name, ProjectMember.role)
        .join(Project, Project.id == Folder.owner_project_id)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.user_id == user.id, Project.is_active)
        .order_by(Project.name, Folder.name)
    )
    found += [
        Access(
            folder=folder,
            level=project_level(user, role),
            via=Via.PROJECT,
            name=folder.name,
            owner_label=project,
        )
        for folder, project, role in projects
    ]
    shared = db.execute(
        select(Folder, FolderPermission, User.email)
        .join(FolderPermission, FolderPermission.folder_id == Folder.id)
        .join(User, User.id == Folder.owner_user_id)
        .where(FolderPermission.user_id == user.id)
        .order_by(FolderPermission.mount_name)
    )
    found += [
        Access(
            folder=folder,
            level=PERM_LEVEL[grant.perm],
            via=Via.SHARED,
            name=grant.mount_name,
            owner_label=email,
            shared_by=email,
        )
        for folder, grant, email in shared
    ]
    return found


def access_to(db: Session, user: User, folder: Folder) -> Access:
    """The user's access to one folder; `NotFound` when they have none (admins: `ADMIN`)."""
    if folder.owner_user_id == user.id:
        return Access(
            folder=folder, level=Level.OWNER, via=Via.OWN, name=folder.name, owner_label=user.email
        )
    if folder.owner_project_id is not None:
        row = db.execute(
            select(Project.name, ProjectMember.role)
            .join(ProjectMember, ProjectMember.project_id == Project.id)
            .where(
                Project.id == folder.owner_project_id,
                ProjectMember.user_id == user.id,
                Project.is_active,
            )
        ).first()
        if row is not None:
            return Access(
                folder=folder,
                level=project_level(user, row.role),
                via=Via.PROJECT,
                name=folder.name,
                owner_label=row.name,
            )
    else:
        grant = db.execute(
            select(FolderPermission, User.email)
            .join(User, User.id == folder.owner_user_id)
            .where(FolderPermission.folder_id == folder.id, FolderPermission.user_id == user.id)
        ).first()
        if grant is not None:
            return Access(
                folder=folder,
                level=PERM_LEVEL[grant[0].perm],
                via=Via.SHARED,
                name=grant[0].mount_name,
                owner_label=grant[1],
                shared_by=grant[1],
            )
    if user.is_admin:
        return Access(
            folder=folder,
            level=Level.ADMIN,
            via=Via.ADMIN,
            name=folder.name,
            owner_label=_owner_label(db, folder),
        )
    raise not_found()


def _owner_label(db: Session, folder: Folder) -> str:
    if folder.owner_user_id is not None:
        return db.scalar(select(User.email).where(User.id == folder.owner_user_id)) or ""
    return db.scalar(select(Project.name).where(Project.id == folder.owner_project_id)) or ""


def not_found() -> NotFound:
    return NotFound(_("No such folder."), details={"field": "folder"})


def resolve(db: Session, user: User, ref: str) -> Access:
    """A folder by id, or by the name the user sees it under; an ambiguous name is a Conflict."""
    try:
        folder_id = uuid.UUID(ref)
    except ValueError:
        folder_id = None
    if folder_id is not None:
        folder = db.get(Folder, folder_id)
        if folder is None:
            raise not_found()
        return access_to(db, user, folder)
    matches = [access for access in accessible(db, user) if access.name == ref]
    if not matches:
        raise not_found()
    own = [access for access in matches if access.via is not Via.PROJECT]
    if len(own) == 1:
        return own[0]
    if len(matches) > 1:
        raise Conflict(
            _("Several folders are called %(name)s; use the folder's id.") % {"name": ref},
            details={"field": "folder"},
        )
    return matches[0]


def require(db: Session, user: User, ref: str, action: Action) -> Access:
    access = resolve(db, user, ref)
    access.require(action)
    return access
