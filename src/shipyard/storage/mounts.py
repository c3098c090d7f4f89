"""Which folders a new session mounts: the folders a user asks for, as mount entries.

A session mounts a folder at /home/work/<name>, under the name the user sees it by. The user
needs at least read access (a `ro` share mounts read-only); an administrator's metadata view
of someone else's folder is not enough. A project folder is mounted only into sessions of
its own project. The entries are stored on the session as JSON; `folder_id` is what
`storage.service.delete_folder` looks for while the session has not finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipyard.config import Settings
from shipyard.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shipyard.i18n import _
from shipyard.projects.models import Project
from shipyard.storage import access as acl
from shipyard.storage import hosts
from shipyard.storage.access import Access, Action, Level, Via
from shipyard.storage.models import Folder
from shipyard.users.models import User

MAX_MOUNTS = 32
FIELD = {"field": "mounts"}


def mountable(db: Session, *, user: User, project: Project) -> list[Access]:
    """The folders the user may mount into a session of `project`, by name (3 statements)."""
    found = [access for access in acl.accessible(db, user) if _fits(access, project)]
    return sorted(found, key=lambda access: (access.name, access.owner_label))


def _fits(access: Access, project: Project) -> bool:
    if not access.can(Action.LIST):
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
