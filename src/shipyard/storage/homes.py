"""Every user's home: a folder of their own, mounted at /home/work in each of their sessions.

A home is an ordinary folder of kind HOME, named `HOME_NAME` (which no other folder may be
called, so each user has one at most), owned by its user, on the default storage host. It is
made on first use, when the user creates their first session (before that, Data & Storage
says so). Its size counts against the owner's folder size limit like any folder's (the
agent holds it for what sessions write: over the limit it turns read-only); it does not take
one of their folders (`max_folder_count`), is never shared, keeps its name, and cannot be
deleted while one of its owner's sessions has not finished (all of them mount it).

Sessions get it through the agent's desired state (`storage.mounts.granted_homes`), not
their stored mounts: a
session created before its owner had a home starts with one all the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shipyard.config import Settings
from shipyard.errors import InvalidInput
from shipyard.i18n import _
from shipyard.storage import hosts
from shipyard.storage.models import Folder, FolderKind
from shipyard.users.models import User

#: The home's name: a leading dot is refused for every other folder (FOLDER_NAME).
HOME_NAME = ".home"


def is_home(folder: Folder) -> bool:
    return folder.kind is FolderKind.HOME


def home_of(db: Session, user_id: uuid.UUID) -> Folder | None:
    return db.scalar(
        select(Folder).where(Folder.owner_user_id == user_id, Folder.kind == FolderKind.HOME)
    )


def ensure(db: Session, settings: Settings, *, user: User) -> Folder:
    """The user's home, made now (row and directory, committed) if they have none yet.

    Two first uses at once make one home: the second insert meets the name's uniqueness
    and takes the first's.
    """
    found = home_of(db, user.id)
    if found is not None:
        return found
    folder = Folder(
        name=HOME_NAME,
        host=hosts.host(settings, settings.default_storage_host).name,
        owner_user_id=user.id,
        kind=FolderKind.HOME,
        created_by=user.id,
    )
    db.add(folder)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        made = home_of(db, user.id)
        assert made is not None  # the other first use committed it
        return made
    hosts.create_directory(settings, folder)
    try:
        db.commit()
    except BaseException:
        hosts.trash(settings, folder)
        raise
    return folder


def refuse_change(folder: Folder) -> None:
    """A home keeps its name and is never shared."""
    if is_home(folder):
        raise InvalidInput(
            _("Your home cannot be renamed or shared; it is yours alone, at /home/work.")
        )


def homes_of(db: Session, owners: Collection[uuid.UUID]) -> list[Folder]:
    """The homes of these users (one statement; none without users)."""
    if not owners:
        return []
    query = select(Folder).where(Folder.owner_user_id.in_(owners), Folder.kind == FolderKind.HOME)
    return list(db.scalars(query))
