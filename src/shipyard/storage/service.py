"""Folders: create, list, rename, delete, and how full they are against their limits."""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, String, cast, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shipyard.audit.models import Action as Audited
from shipyard.audit.service import record
from shipyard.config import Settings
from shipyard.db import utcnow
from shipyard.errors import Conflict, NotFound, PermissionDenied, QuotaExceeded, ShipyardError
from shipyard.i18n import _
from shipyard.policies import service as policies
from shipyard.policies.models import PolicyKind
from shipyard.projects import service as projects
from shipyard.projects.models import Project
from shipyard.sessions.models import FINISHED, ComputeSession
from shipyard.storage import access as acl
from shipyard.storage import homes, hosts, paths, staging
from shipyard.storage.access import Access, Action, Via
from shipyard.storage.models import Folder, FolderKind, FolderPermission, Upload
from shipyard.storage.schemas import FolderCreate, FolderPublic
from shipyard.users.models import User

log = logging.getLogger(__name__)

USAGE_MAX_AGE = timedelta(seconds=30)


def release(db: Session) -> None:
    """End `db`'s transaction and give its connection back, before file I/O in a folder.

    What a user or a session put in a folder decides how long walking or reading it takes,
    so no connection may wait on it: a pool emptied that way stops every request (and the
    agents' heartbeats). Loaded objects stay usable (sessions do not expire on commit); the
    next statement opens a new transaction. It commits: nothing is pending at these points
    that the caller would not commit anyway.
    """
    db.commit()


def folder_info(db: Session, settings: Settings, *, user: User, ref: str) -> Access:
    """One folder as the user sees it, its usage measured if they may see inside."""
    access = acl.resolve(db, user, ref)
    if access.can(Action.LIST):
        refresh_usage(db, settings, access.folder)
    return access


def list_folders(db: Session, settings: Settings, *, user: User) -> list[Access]:
    """The user's folders with their usage, their home among them once it is made.

    Only folders never measured, or changed through Shipyard since (an upload, a delete),
    are measured here; the rest show the last figure, which `storage.monitor` renews in the
    background, so a listing never walks big folders that nobody changed.
    """
    found = acl.accessible(db, user)
    unmeasured = [
        a.folder for a in found if a.folder.used_measured_at is None and a.can(Action.LIST)
    ]
    if unmeasured:
        release(db)
        for folder in unmeasured:
            _record(folder, _walk(settings, folder))
        db.commit()
    return found


def all_folders(db: Session, *, admin: User) -> list[Access]:
    """Every folder, for an administrator's overview (metadata only)."""
    mine = {access.folder.id: access for access in acl.accessible(db, admin)}
    rows = db.execute(
        select(Folder, func.coalesce(User.email, Project.name))
        .outerjoin(User, User.id == Folder.owner_user_id)
        .outerjoin(Project, Project.id == Folder.owner_project_id)
        .order_by(Folder.name)
    )
    return [
        mine.get(folder.id)
        or Access(
            folder=folder, level=acl.Level.ADMIN, via=Via.ADMIN, name=folder.name, owner_label=owner
        )
        for folder, owner in rows
    ]


def own_folder_count(db: Session, user: User) -> int:
    """The folders the user made (their home is not one of them)."""
    query = select(func.count()).where(
        Folder.owner_user_id == user.id, Folder.kind == FolderKind.FOLDER
    )
    return db.scalar(query) or 0


def max_folder_count(db: Session, user: User) -> int | None:
    return policies.policy_of_user(db, user).max_folder_count


def size_limit(db: Session, folder: Folder) -> int | None:
    """The folder's own limit, else its owner's policy's folder size; None: no limit."""
    return size_limits(db, [folder])[folder.id]


def size_limits(db: Session, folders: list[Folder]) -> dict[uuid.UUID, int | None]:
    """`size_limit` for many folders in a constant number of statements."""
    user_ids = {f.owner_user_id for f in folders if f.owner_user_id is not None}
    project_ids = {f.owner_project_id for f in folders if f.owner_project_id is not None}
    user_policy: dict[uuid.UUID, uuid.UUID | None] = {}
    if user_ids:
        query = select(User.id, User.resource_policy_id).where(User.id.in_(user_ids))
        user_policy = {row[0]: row[1] for row in db.execute(query)}
    project_policy: dict[uuid.UUID, uuid.UUID | None] = {}
    if project_ids:
        query = select(Project.id, Project.resource_policy_id).where(Project.id.in_(project_ids))
        project_policy = {row[0]: row[1] for row in db.execute(query)}
    by_user = policies.policies_by_id(db, PolicyKind.USER, {p for p in user_policy.values() if p})
    by_project = policies.policies_by_id(
        db, PolicyKind.PROJECT, {p for p in project_policy.values() if p}
    )
    limits: dict[uuid.UUID, int | None] = {}
    for folder in folders:
        if folder.max_size is not None:
            limits[folder.id] = folder.max_size
        elif folder.owner_user_id is not None:
            policy = by_user.get(user_policy.get(folder.owner_user_id)) or by_user[None]
            limits[folder.id] = policy.max_folder_size
        elif folder.owner_project_id is not None:
            policy = by_project.get(project_policy.get(folder.owner_project_id)) or by_project[None]
            limits[folder.id] = policy.max_folder_size
    return limits


def refresh_usage(
    db: Session, settings: Settings, folder: Folder, *, max_age: timedelta = USAGE_MAX_AGE
) -> int:
    """The folder's bytes on disk, measured again when the last figure is older than max_age.

    Sessions write into folders directly, so only a measurement knows the truth. The walk
    runs with `db`'s transaction ended (`release`).
    """
    if _fresh(folder, max_age):
        return folder.used_bytes
    release(db)
    _record(folder, _walk(settings, folder))
    db.commit()
    return folder.used_bytes


def _fresh(folder: Folder, max_age: timedelta) -> bool:
    measured = folder.used_measured_at
    return measured is not None and utcnow() - measured < max_age


@dataclass(frozen=True)
class _Walked:
    survey: hosts.Survey
    started: datetime


def _walk(settings: Settings, folder: Folder) -> _Walked:
    """Measure the folder on disk; no database access (call it with no transaction open)."""
    started = utcnow()
    path = hosts.directory(settings, folder)
    found = hosts.survey(path) if path.is_dir() else hosts.Survey(bytes=0, temps=[])
    return _Walked(survey=found, started=started)


def _record(folder: Folder, walked: _Walked) -> None:
    folder.used_bytes = walked.survey.bytes
    folder.used_measured_at = walked.started


def measure_due(db: Session, settings: Settings, *, limit: int = 50) -> int:
    """Measure up to `limit` folders whose usage is oldest and older than `USAGE_MAX_AGE`,
    removing upload temp files that older versions left inside folders, that no upload owns
    and that are older than the upload expiry. Each walk runs with no transaction open."""
    cutoff = utcnow() - USAGE_MAX_AGE
    due = db.scalars(
        select(Folder)
        .where(or_(Folder.used_measured_at.is_(None), Folder.used_measured_at < cutoff))
        .order_by(Folder.used_measured_at.is_not(None), Folder.used_measured_at)
        .limit(limit)
    ).all()
    release(db)
    for folder in due:
        walked = _walk(settings, folder)
        _record(folder, walked)
        owned = _upload_files(db, folder) if walked.survey.temps else set()
        db.commit()
        _remove_orphans(settings, folder, walked.survey, owned)
    return len(due)


def _upload_files(db: Session, folder: Folder) -> set[str]:
    return set(db.scalars(select(Upload.temp_name).where(Upload.folder_id == folder.id)))


def _remove_orphans(
    settings: Settings, folder: Folder, found: hosts.Survey, owned: set[str]
) -> None:
    too_old = time.time() - settings.upload_expiry_hours * 3600
    orphans = [t for t in found.temps if t[1] not in owned and t[2] < too_old]
    if not orphans:
        return
    with suppress(ShipyardError):
        root = hosts.root(settings, folder)
        for directory, name, _mtime in orphans:
            with suppress(ShipyardError):
                paths.discard_legacy_temp(root, directory, name)
            log.info("folder %s: removed an orphaned upload file %s/%s", folder.id, directory, name)


def check_room(db: Session, settings: Settings, folder: Folder, *, adding: int) -> None:
    """Refuse `adding` bytes that would take the folder over its limit.

    Ends `db`'s transaction (`release`) and measures the folder with none open; then locks
    the folder's row, which stays locked until the caller commits, so a reservation made in
    that transaction is seen by the next check. Uploads in progress count with their whole
    declared length, and so do uploads finished since the walk began (it may have missed
    them), so two uploads cannot together pass a limit that each alone would fit.
    """
    limit = size_limit(db, folder)
    if limit is None:
        return
    release(db)
    walked = _walk(settings, folder)
    db.execute(update(Folder).where(Folder.id == folder.id).values(name=Folder.name))
    _record(folder, walked)
    used = walked.survey.bytes
    reserved = db.scalar(
        select(func.coalesce(func.sum(Upload.length), 0)).where(
            Upload.folder_id == folder.id,
            or_(Upload.completed_at.is_(None), Upload.completed_at >= walked.started),
        )
    )
    if used + int(reserved or 0) + adding > limit:
        raise QuotaExceeded(
            _over_size_limit(used=used, reserved=int(reserved or 0), limit=limit, adding=adding),
            details={"limit": "folder_size", "max_size": limit, "used": used},
        )


def _over_size_limit(*, used: int, reserved: int, limit: int, adding: int) -> str:
    """Why `adding` bytes do not fit, with every amount (other uploads only when there are)."""
    values = {
        "adding": human_bytes(adding),
        "limit": human_bytes(limit),
        "used": human_bytes(used),
        "reserved": human_bytes(reserved),
        "left": human_bytes(max(0, limit - used - reserved)),
    }
    if reserved:
        return (
            _(
                "This needs %(adding)s, which would take the folder over its size limit of "
                "%(limit)s: %(used)s is used and %(reserved)s is held by other uploads in "
                "progress, so %(left)s is left."
            )
            % values
        )
    return (
        _(
            "This needs %(adding)s, which would take the folder over its size limit of "
            "%(limit)s: %(used)s is used, so %(left)s is left."
        )
        % values
    )


def human_bytes(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _names_taken(db: Session, user: User) -> set[str]:
    """The names of the user's own folders and of the shares they accepted."""
    own = db.scalars(select(Folder.name).where(Folder.owner_user_id == user.id))
    shared = db.scalars(
        select(FolderPermission.mount_name).where(FolderPermission.user_id == user.id)
    )
    return set(own) | set(shared)


def _lock_user(db: Session, user: User) -> None:
    """Serialise one user's folder changes (count limit, names): PG row lock, SQLite write lock."""
    db.execute(update(User).where(User.id == user.id).values(email=User.email))


def create_folder(db: Session, settings: Settings, *, user: User, spec: FolderCreate) -> Access:
    host = hosts.host(settings, spec.host or settings.default_storage_host)
    if spec.project is not None:
        return _create_project_folder(db, settings, user=user, spec=spec, host=host.name)
    _lock_user(db, user)
    if spec.name in _names_taken(db, user):
        raise _name_taken(spec.name)
    limit = max_folder_count(db, user)
    if limit is not None and own_folder_count(db, user) >= limit:
        raise QuotaExceeded(
            _("You may have at most %(count)d folders; delete one first.") % {"count": limit},
            details={"limit": "folder_count", "max_folder_count": limit},
        )
    folder = Folder(
        name=spec.name,
        host=host.name,
        owner_user_id=user.id,
        usage_mode=spec.usage_mode,
        created_by=user.id,
    )
    _store(db, settings, folder)
    return acl.access_to(db, user, folder)


def _create_project_folder(
    db: Session, settings: Settings, *, user: User, spec: FolderCreate, host: str
) -> Access:
    project = _project(db, user, spec.project or "")
    role = projects.member_role(db, project=project, user=user)
    if acl.project_level(user, role) is not acl.Level.OWNER:
        raise PermissionDenied(_("Only the project's owners may create its folders."))
    _lock_user(db, user)
    taken = db.scalar(
        select(func.count()).where(Folder.owner_project_id == project.id, Folder.name == spec.name)
    )
    if taken:
        raise _name_taken(spec.name)
    limit = policies.policy_of_project(db, project).max_folder_count
    count = db.scalar(select(func.count()).where(Folder.owner_project_id == project.id)) or 0
    if limit is not None and count >= limit:
        raise QuotaExceeded(
            _("Project %(project)s may have at most %(count)d folders.")
            % {"project": project.name, "count": limit},
            details={"limit": "project_folder_count", "max_folder_count": limit},
        )
    folder = Folder(
        name=spec.name,
        host=host,
        owner_project_id=project.id,
        usage_mode=spec.usage_mode,
        created_by=user.id,
    )
    _store(db, settings, folder)
    return acl.access_to(db, user, folder)


def _project(db: Session, user: User, ref: str) -> Project:
    for project in projects.projects_of(db, user):
        if ref in (project.name, str(project.id)):
            return project
    raise NotFound(_("No such project: %(name)s.") % {"name": ref}, details={"field": "project"})


def _name_taken(name: str) -> Conflict:
    return Conflict(
        _("You already have a folder called %(name)s.") % {"name": name},
        details={"field": "name"},
    )


def _store(db: Session, settings: Settings, folder: Folder) -> None:
    """Insert the row and make its directory; neither exists without the other."""
    db.add(folder)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise _name_taken(folder.name) from None
    hosts.create_directory(settings, folder)
    try:
        db.commit()
    except BaseException:
        hosts.trash(settings, folder)
        raise


def rename_folder(db: Session, *, user: User, ref: str, name: str) -> Access:
    """The owner renames the folder; someone it is shared with renames their view of it."""
    access = acl.resolve(db, user, ref)
    homes.refuse_change(access.folder)
    if access.name == name:
        return access
    if access.via is Via.SHARED:
        _lock_user(db, user)
        if name in _names_taken(db, user):
            raise _name_taken(name)
        db.execute(
            update(FolderPermission)
            .where(
                FolderPermission.folder_id == access.folder.id, FolderPermission.user_id == user.id
            )
            .values(mount_name=name)
        )
    else:
        access.require(Action.MANAGE)
        if access.via is Via.OWN and name in _names_taken(db, user):
            raise _name_taken(name)
        access.folder.name = name
        try:
            db.flush()
        except IntegrityError:
            db.rollback()
            raise _name_taken(name) from None
    db.commit()
    return acl.access_to(db, user, db.get(Folder, access.folder.id) or access.folder)


def delete_folder(db: Session, settings: Settings, *, user: User, ref: str) -> None:
    """Delete a folder and everything in it; refused while a session uses it."""
    access = acl.require(db, user, ref, Action.MANAGE)
    folder = access.folder
    # Locks the row: a session being created with this folder either commits first (and is
    # seen below) or waits for the delete and finds no folder (storage.mounts locks it too).
    db.execute(update(Folder).where(Folder.id == folder.id).values(name=Folder.name))
    in_use = db.scalars(
        select(ComputeSession.name)
        .where(ComputeSession.status.not_in(FINISHED), _mounting(folder))
        .limit(3)
    ).all()
    if in_use:
        raise Conflict(
            _("Sessions still use this folder: %(names)s. End them first.")
            % {"names": ", ".join(in_use)},
            details={"sessions": list(in_use)},
        )
    staged = db.scalars(
        select(Upload.temp_name).where(Upload.folder_id == folder.id, Upload.completed_at.is_(None))
    ).all()
    db.delete(folder)
    record(
        db,
        Audited.FOLDER_DELETE,
        actor=user,
        target_type="folder",
        target_id=folder.id,
        target_label=folder.name,
        details={"host": folder.host},
    )
    db.commit()
    hosts.trash(settings, folder)
    for name in staged:
        if not staging.is_legacy(name):  # legacy ones went with the directory
            staging.discard(hosts.staging(settings, folder), name)
    log.info("folder %s (%s) deleted by %s", folder.id, folder.name, user.email)


def _mounting(folder: Folder) -> ColumnElement[bool]:
    """Sessions that mount the folder: every session of a home's owner."""
    if homes.is_home(folder):
        return ComputeSession.owner_id == folder.owner_user_id
    return cast(ComputeSession.mounts, String).contains(str(folder.id))


def present(db: Session, accesses: list[Access]) -> list[FolderPublic]:
    limits = size_limits(db, [access.folder for access in accesses])
    return [_public(access, limits[access.folder.id]) for access in accesses]


def _public(access: Access, limit: int | None) -> FolderPublic:
    folder = access.folder
    return FolderPublic(
        id=folder.id,
        name=access.name,
        folder_name=folder.name,
        host=folder.host,
        usage_mode=folder.usage_mode,
        kind=folder.kind,
        owner=access.owner_label,
        ownership="user" if folder.owner_user_id is not None else "project",
        via=access.via.value,
        permission=access.perm,
        shared_by=access.shared_by,
        used_bytes=folder.used_bytes,
        max_size=limit,
        created_at=folder.created_at,
    )
