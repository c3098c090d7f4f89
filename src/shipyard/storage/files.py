"""Files inside a folder, for a user with the right access: list, mkdir, move, delete, read.

Every path goes through `paths` (cleaned as text, resolved by descriptor, links never followed,
nothing opened that could block). Access is checked first; then the database transaction
ends (`folders.release`) before anything on disk is touched: a folder's contents are what
users and sessions made them, and no connection waits on them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import BinaryIO

from sqlalchemy.orm import Session

from shipyard.config import Settings
from shipyard.errors import InvalidInput
from shipyard.i18n import _
from shipyard.storage import access as acl
from shipyard.storage import hosts, paths
from shipyard.storage import service as folders
from shipyard.storage.access import Access, Action
from shipyard.storage.schemas import FileEntry, FilesPublic
from shipyard.users.models import User

DEFAULT_PAGE = 200


def _kind(entry: paths.Entry) -> str:
    if entry.is_symlink:
        return "link"
    if entry.is_dir:
        return "dir"
    return "file" if entry.is_file else "other"  # a FIFO, a socket, a device


def _entry(directory: PurePosixPath, entry: paths.Entry) -> FileEntry:
    kind = _kind(entry)
    return FileEntry(
        name=entry.name,
        path=str(directory / entry.name),
        type=kind,
        size=entry.size,
        modified=datetime.fromtimestamp(entry.mtime, UTC),
    )


def list_files(
    db: Session,
    settings: Settings,
    *,
    user: User,
    ref: str,
    path: str = "",
    offset: int = 0,
    limit: int = DEFAULT_PAGE,
) -> tuple[Access, FilesPublic]:
    access = _released(db, user=user, ref=ref, action=Action.LIST)
    directory = paths.clean(path)
    entries, total = paths.list_dir(
        hosts.root(settings, access.folder), str(directory), offset=offset, limit=limit
    )
    shown = "" if str(directory) == "." else str(directory)
    page = FilesPublic(
        path=shown,
        data=[_entry(PurePosixPath(shown), entry) for entry in entries],
        count=total,
        offset=offset,
        limit=limit,
    )
    return access, page


def _released(db: Session, *, user: User, ref: str, action: Action) -> Access:
    """The user's access to the folder, with `db`'s transaction ended for the file work."""
    access = acl.require(db, user, ref, action)
    folders.release(db)
    return access


def make_dir(db: Session, settings: Settings, *, user: User, ref: str, path: str) -> None:
    access = _released(db, user=user, ref=ref, action=Action.WRITE)
    paths.mkdir(hosts.root(settings, access.folder), path)


def move(
    db: Session, settings: Settings, *, user: User, ref: str, source: str, target: str
) -> None:
    """Rename or move within the folder (write access); the target must not exist."""
    access = _released(db, user=user, ref=ref, action=Action.WRITE)
    paths.rename(hosts.root(settings, access.folder), source, target)


def delete(db: Session, settings: Settings, *, user: User, ref: str, path: str) -> None:
    access = _released(db, user=user, ref=ref, action=Action.DELETE)
    paths.remove(hosts.root(settings, access.folder), path)
    access.folder.used_measured_at = None
    db.commit()


@dataclass
class Download:
    """An open file and what a response needs to describe it; the caller closes `file`."""

    file: BinaryIO
    name: str
    size: int
    mtime: float


def open_download(db: Session, settings: Settings, *, user: User, ref: str, path: str) -> Download:
    """The regular file at `path`, opened with `db`'s transaction already ended.

    Anything else there (a folder, a link, a FIFO or socket a session made) is refused with a
    domain error; the file is never opened again by name.
    """
    access = _released(db, user=user, ref=ref, action=Action.READ)
    name = paths.clean(path).name
    if not name:
        raise InvalidInput(_("Name a file to download."), details={"field": "path"})
    file = paths.open_read(hosts.root(settings, access.folder), path)
    info = _stat(file)
    return Download(file=file, name=name, size=info[0], mtime=info[1])


def _stat(file: BinaryIO) -> tuple[int, float]:
    result = os.fstat(file.fileno())
    return result.st_size, result.st_mtime
