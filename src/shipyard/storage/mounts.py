"""Which folders a session mounts, and what it may do in them while it runs.

A session mounts a folder at /home/work/<name>, under the name the user sees it by. The user
needs at least read access (a `ro` share mounts read-only); an administrator's metadata view
of someone else's folder is not enough. A project folder is mounted only into sessions of
its own project. The entries are stored on the session as JSON; `folder_id` is what
`storage.service.delete_folder` looks for while the session has not finished.

What a session may do in a folder is not frozen when it is created: its agent is told the
owner's access as it is now (`granted_now`), never more than the session started with, and
every change that can lower access bumps the agents running the sessions it touches
(`recheck`), so a revoked or lowered share reaches running sessions within seconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shipyard.agents import service as agents
from shipyard.config import Settings
from shipyard.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shipyard.i18n import _
from shipyard.projects.models import MemberRole, Project, ProjectMember
from shipyard.sessions.models import ComputeSession, SessionStatus
from shipyard.storage import access as acl
from shipyard.storage import homes, hosts
from shipyard.storage.access import Access, Action, Level, Via
from shipyard.storage.models import Folder, FolderPermission, Perm
from shipyard.storage.service import size_limits
from shipyard.users.models import User

MAX_MOUNTS = 32
FIELD = {"field": "mounts"}


def mountable(db: Session, *, user: User, project: Project) -> list[Access]:
    """The folders the user may mount into a session of `project`, by name (3 statements)."""
    found = [access for access in acl.accessible(db, user) if _fits(access, project)]
    return sorted(found, key=lambda access: (access.name, access.owner_label))


def _fits(access: Access, project: Project) -> bool:
    if not access.can(Action.LIST) or homes.is_home(access.folder):
        return False
    return access.via is not Via.PROJECT or access.folder.owner_project_id == project.id


def resolve_mounts(
    db: Session, settings: Settings, *, user: User, project: Project, refs: list[str]
) -> list[dict[str, Any]]:
    """The mount entries for `refs` (folder names or ids), or a refusal naming the problem.

    Nothing is stored here; the caller keeps the entries with the session it creates.
    """
    check_count(refs)
    entries: list[dict[str, Any]] = []
    for ref in refs:
        access = _mount_access(db, user, ref, project)
        _refuse_clash(entries, access)
        entries.append(entry(settings, access))
    return entries


def check_count(refs: Sequence[str]) -> None:
    if len(refs) > MAX_MOUNTS:
        raise InvalidInput(
            _("A session may mount at most %(count)d folders.") % {"count": MAX_MOUNTS},
            details=FIELD,
        )


def read_only(access: Access) -> bool:
    """Whether a session mounts the folder read-only: for a `ro` share."""
    return access.level < Level.RW


def _find(db: Session, user: User, ref: str, project: Project) -> Access:
    """The folder `ref` names; a name several projects' folders share means this project's."""
    try:
        return acl.resolve(db, user, ref)
    except NotFound as exc:
        raise NotFound(exc.message, details=FIELD) from None
    except Conflict as exc:
        here = [
            access for access in mountable(db, user=user, project=project) if access.name == ref
        ]
        if len(here) == 1:
            return here[0]
        raise InvalidInput(exc.message, details=FIELD) from None


def _mount_access(db: Session, user: User, ref: str, project: Project) -> Access:
    access = _find(db, user, ref, project)
    if homes.is_home(access.folder):
        raise InvalidInput(
            _("Your home is in every session already, at /home/work; it is not mounted again."),
            details=FIELD,
        )
    _hold(db, access)
    if access.level < Level.RO:
        raise PermissionDenied(
            _("You may mount only folders you own, share or reach through your projects."),
            details=FIELD,
        )
    if access.via is Via.PROJECT and access.folder.owner_project_id != project.id:
        raise InvalidInput(
            _(
                "Folder %(name)s belongs to project %(owner)s; only that project's sessions "
                "may mount it."
            )
            % {"name": access.name, "owner": access.owner_label},
            details=FIELD,
        )
    return access


def _hold(db: Session, access: Access) -> None:
    """Share-lock the folder's row until the session is stored, so a concurrent delete
    either finishes first (the folder is gone) or waits and then sees this session."""
    held = db.scalar(
        select(Folder.id).where(Folder.id == access.folder.id).with_for_update(read=True)
    )
    if held is None:
        raise NotFound(_("No such folder."), details=FIELD)


def _refuse_clash(entries: list[dict[str, Any]], access: Access) -> None:
    if any(e["folder_id"] == str(access.folder.id) for e in entries):
        raise InvalidInput(
            _("Folder %(name)s is asked for twice.") % {"name": access.name}, details=FIELD
        )
    if any(e["name"] == access.name for e in entries):
        raise InvalidInput(
            _(
                "Two folders are called %(name)s; both cannot be mounted at /home/work/%(name)s. "
                "Rename one of them first."
            )
            % {"name": access.name},
            details=FIELD,
        )


def entry(settings: Settings, access: Access) -> dict[str, Any]:
    """One mount as the session stores it; `source` is the folder's path on the agents."""
    return {
        "folder_id": str(access.folder.id),
        "name": access.name,
        "source": str(hosts.agent_directory(settings, access.folder)),
        "read_only": read_only(access),
    }


# -- running sessions ----------------------------------------------------------------------

SessionAccess = Literal["ro", "rw", "full"]
#: sessions whose agent is told their mounts: it runs them or is about to
LIVE = (SessionStatus.SCHEDULED, SessionStatus.PREPARING, SessionStatus.RUNNING)


@dataclass(frozen=True)
class GrantedMount:
    """One folder of a session as its agent binds it now, and its size limit (bytes, as
    uploads are held to it; None: none), which the agent holds for what sessions write."""

    source: str
    name: str
    access: SessionAccess
    limit: int | None = None


def session_access(level: Level) -> SessionAccess | None:
    """What a session may do at this level: ro; rw (no deleting); full (wd and owners)."""
    if level >= Level.WD:
        return "full"
    if level is Level.RW:
        return "rw"
    return "ro" if level is Level.RO else None


def granted_now(
    db: Session, sessions: Sequence[ComputeSession]
) -> dict[uuid.UUID, list[GrantedMount]]:
    """Each session's mounts as its owner may use them now, with each folder's size limit
    (10 statements at most, however many sessions).

    A folder the owner can no longer reach is left out; one they may do less in comes with
    that access. Never more than the session was created with (a read-only mount stays
    read-only); running sessions are not widened anyway (the agent keeps what they have).
    """
    pairs = {(s.owner_id, uuid.UUID(e["folder_id"])) for s in sessions for e in s.mounts}
    folders = _folders(db, {folder_id for _user_id, folder_id in pairs})
    levels = _levels(db, pairs, folders) if pairs else {}
    limits = size_limits(db, list(folders.values())) if folders else {}
    found: dict[uuid.UUID, list[GrantedMount]] = {}
    for session in sessions:
        found[session.id] = []
        for entry in session.mounts:
            folder_id = uuid.UUID(entry["folder_id"])
            level = levels.get((session.owner_id, folder_id))
            access = session_access(level) if level is not None else None
            if access is not None:
                found[session.id].append(
                    GrantedMount(
                        source=entry["source"],
                        name=entry["name"],
                        access="ro" if entry["read_only"] else access,
                        limit=limits.get(folder_id),
                    )
                )
    return found


def granted_homes(
    db: Session, settings: Settings, *, owners: Collection[uuid.UUID]
) -> dict[uuid.UUID, GrantedMount]:
    """Each owner's home as their sessions mount it (at /home/work), with its size limit;
    owners without a home are left out. Five statements at most, however many owners."""
    found = homes.homes_of(db, owners)
    limits = size_limits(db, found) if found else {}
    return {
        folder.owner_user_id: GrantedMount(
            source=str(hosts.agent_directory(settings, folder)),
            name=homes.HOME_NAME,
            access="full",
            limit=limits.get(folder.id),
        )
        for folder in found
        if folder.owner_user_id is not None
    }


def _folders(db: Session, folder_ids: set[uuid.UUID]) -> dict[uuid.UUID, Folder]:
    if not folder_ids:
        return {}
    return {f.id: f for f in db.scalars(select(Folder).where(Folder.id.in_(folder_ids)))}


Pair = tuple[uuid.UUID, uuid.UUID]  # (user id, folder id)


def _levels(db: Session, pairs: set[Pair], folders: dict[uuid.UUID, Folder]) -> dict[Pair, Level]:
    """The level each (user, folder) pair has now, as `access.access_to` rules it."""
    user_ids = {user_id for user_id, _folder_id in pairs}
    users = {u.id: u for u in db.scalars(select(User).where(User.id.in_(user_ids)))}
    grants = _grants(db, folder_ids=set(folders), user_ids=user_ids)
    project_ids = {f.owner_project_id for f in folders.values() if f.owner_project_id}
    roles = _roles(db, project_ids=project_ids, user_ids=user_ids) if project_ids else {}
    levels = {}
    for user_id, folder_id in pairs:
        folder, user = folders.get(folder_id), users.get(user_id)
        if folder is None or user is None:
            continue
        level: Level | None = None
        if folder.owner_user_id == user_id:
            level = Level.OWNER
        elif folder.owner_project_id is not None:
            role = roles.get((user_id, folder.owner_project_id))
            level = acl.project_level(user, role) if role is not None else None
        elif (user_id, folder_id) in grants:
            level = acl.PERM_LEVEL[grants[(user_id, folder_id)]]
        if level is not None:
            levels[(user_id, folder_id)] = level
    return levels


def _grants(
    db: Session, *, folder_ids: set[uuid.UUID], user_ids: set[uuid.UUID]
) -> dict[Pair, Perm]:
    query = select(FolderPermission).where(
        FolderPermission.folder_id.in_(folder_ids), FolderPermission.user_id.in_(user_ids)
    )
    return {(grant.user_id, grant.folder_id): grant.perm for grant in db.scalars(query)}


def _roles(
    db: Session, *, project_ids: set[uuid.UUID], user_ids: set[uuid.UUID]
) -> dict[Pair, MemberRole]:
    """Members' roles in active projects, by (user id, project id)."""
    query = (
        select(ProjectMember.user_id, ProjectMember.project_id, ProjectMember.role)
        .join(Project, Project.id == ProjectMember.project_id)
        .where(
            ProjectMember.project_id.in_(project_ids),
            ProjectMember.user_id.in_(user_ids),
            Project.is_active,
        )
    )
    return {(user_id, project_id): role for user_id, project_id, role in db.execute(query)}


def recheck(
    db: Session, *, users: Collection[uuid.UUID] = (), projects: Collection[uuid.UUID] = ()
) -> None:
    """Access to folders may have shrunk for these users, or in these projects' sessions:
    the agents running their sessions with folders get a new desired state (in db's
    transaction; the long-poll of each wakes once it commits)."""
    if not users and not projects:
        return
    rows = db.execute(
        select(ComputeSession.agent_id, ComputeSession.mounts).where(
            ComputeSession.status.in_(LIVE),
            ComputeSession.agent_id.is_not(None),
            or_(ComputeSession.owner_id.in_(users), ComputeSession.project_id.in_(projects)),
        )
    )
    agents.bump_many(db, {agent_id for agent_id, mounts in rows if agent_id and mounts})
