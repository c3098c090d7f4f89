"""How folders, files and invitations show on the Data & Storage pages, and their dialogs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from sqlalchemy.orm import Session

from shipyard.config import Settings
from shipyard.errors import InvalidInput
from shipyard.i18n import _
from shipyard.projects import service as projects
from shipyard.projects.models import Project
from shipyard.storage import homes, sharing
from shipyard.storage import service as folders
from shipyard.storage.access import Access, Action, Level, Via, project_level
from shipyard.storage.models import Perm, UsageMode
from shipyard.storage.schemas import (
    FileEntry,
    FilesPublic,
    FolderCreate,
    FolderPublic,
    InvitationPublic,
)
from shipyard.users.models import User
from shipyard.web import kit

PAGE_SIZE = 100
CHUNK_SIZE = 16 * 2**20  # a dropped connection loses at most this much of an upload
TABS = ("own", "project", "shared")
TAB_OF = {Via.OWN: "own", Via.PROJECT: "project", Via.SHARED: "shared"}
BADGES = {  # readable in both themes: body-coloured text, the colour only in a dot
    "owner": "perm-badge perm-owner",
    "wd": "perm-badge perm-wd",
    "rw": "perm-badge perm-rw",
    "ro": "perm-badge perm-ro",
    "admin": "perm-badge perm-ro",
}


def perm_labels() -> dict[str, str]:
    """The permission badge's words, in the reader's language."""
    return {
        "owner": _("owner"),
        "wd": _("rw + delete"),
        "rw": _("read-write"),
        "ro": _("read-only"),
        "admin": _("metadata only"),
    }


def perm_choices() -> list[tuple[str, str, str]]:
    """(value, label, what it allows) for the share dialog."""
    return [
        (Perm.RO.value, _("read-only"), _("They can see and download the files.")),
        (Perm.RW.value, _("read-write"), _("They can also upload, create and rename files.")),
        (Perm.WD.value, _("rw + delete"), _("They can also delete files and folders.")),
    ]


def usage_modes() -> dict[str, str]:
    return {
        UsageMode.GENERAL.value: _("General"),
        UsageMode.DATA.value: _("Data"),
        UsageMode.MODEL.value: _("Model"),
    }


def looks() -> dict[str, Any]:
    """How permissions, usage modes and counts show, on every Data & Storage template."""
    return {
        "perm_labels": perm_labels(),
        "badges": BADGES,
        "usage_modes": usage_modes(),
        "count_text": count_text,
        "folder_label": label,
    }


# The Data & Storage dialogs: a modal's content for htmx, else a page of their own.
DIALOGS = kit.Dialogs(page="dialog_page.html", looks=lambda: {"notice": "", **looks()})


def name_rule() -> str:
    return _(
        "1 to 64 characters: letters, digits, dot, underscore and hyphen, "
        "starting with a letter or digit. Sessions see the folder under this name."
    )


# Folders ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    used: str
    limit: str  # "∞" when there is none
    percent: int | None  # None when unlimited: such a folder never shows a bar


def usage_of(used: int, limit: int | None) -> Usage:
    if limit is None:
        return Usage(used=folders.human_bytes(used), limit="∞", percent=None)
    percent = 100 if limit <= 0 else min(100, used * 100 // limit)
    return Usage(used=folders.human_bytes(used), limit=folders.human_bytes(limit), percent=percent)


@dataclass(frozen=True)
class FolderRow:
    folder: FolderPublic
    usage: Usage
    can_manage: bool  # rename or delete the folder itself
    can_share: bool
    created: str
    home: bool  # the user's home: shown as "Home", never renamed or shared


def label(access: Access) -> str:
    """A folder's name as people read it: "Home" for a user's home."""
    return _("Home") if homes.is_home(access.folder) else access.name


def rows_of(db: Session, accesses: list[Access]) -> list[FolderRow]:
    return [
        FolderRow(
            folder=shown,
            usage=usage_of(shown.used_bytes, shown.max_size),
            can_manage=access.can(Action.MANAGE),
            can_share=access.can(Action.INVITE) and access.via is Via.OWN and not home,
            created=shown.created_at.astimezone(UTC).strftime("%Y-%m-%d"),
            home=home,
        )
        for access, shown in zip(accesses, folders.present(db, accesses), strict=True)
        for home in [homes.is_home(access.folder)]
    ]


@dataclass(frozen=True)
class DataPage:
    tabs: dict[str, list[FolderRow]]
    own_count: int
    max_count: int | None
    invitations: list[InvitationPublic]
    has_home: bool  # False until the user's first session makes it


def data_page(db: Session, settings: Settings, *, user: User) -> DataPage:
    """Everything /data shows, in a number of statements that does not grow with folders."""
    found = folders.list_folders(db, settings, user=user)
    rows = rows_of(db, found)
    tabs: dict[str, list[FolderRow]] = {tab: [] for tab in TABS}
    for access, row in sorted(zip(found, rows, strict=True), key=lambda pair: not pair[1].home):
        tabs[TAB_OF.get(access.via, "own")].append(row)  # the home first
    return DataPage(
        tabs=tabs,
        own_count=sum(
            1 for access in found if access.via is Via.OWN and not homes.is_home(access.folder)
        ),
        max_count=folders.max_folder_count(db, user),
        invitations=sharing.pending_for(db, user),
        has_home=any(row.home for row in rows),
    )


def count_text(count: int, limit: int | None) -> str:
    """'3 / 10 folders'; '3 / ∞ folders' without a limit."""
    shown = "∞" if limit is None else str(limit)
    return _("%(count)d / %(limit)s folders") % {"count": count, "limit": shown}


def folder_projects(db: Session, user: User, mine: list[Project]) -> list[Project]:
    """The user's projects in which they may create project folders."""
    roles = projects.roles_of(db, user)
    return [p for p in mine if project_level(user, roles.get(p.id)) is Level.OWNER]


def folder_spec(*, name: str, usage_mode: str, project: str) -> FolderCreate:
    """The create form as the service's request; InvalidInput names the bad field."""
    if usage_mode not in usage_modes():
        raise InvalidInput(_("Choose a usage mode."), details={"field": "usage_mode"})
    try:
        return FolderCreate(name=name.strip(), usage_mode=usage_mode, project=project or None)
    except ValidationError as exc:
        message = (
            _("%(name)s is not a valid folder name.") % {"name": name.strip()[:80]}
            if name.strip()
            else _("Give the folder a name.")
        )
        raise InvalidInput(message, details={"field": "name"}) from exc


def checked_name(name: str) -> str:
    """A new folder name, checked against the same rule as at creation."""
    return folder_spec(name=name, usage_mode=UsageMode.GENERAL.value, project="").name


# Files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Crumb:
    label: str
    url: str


@dataclass(frozen=True)
class FileRow:
    entry: FileEntry
    size: str
    modified: str
    url: str  # a directory's page, or the file's download


@dataclass(frozen=True)
class Pager:
    first: int
    last: int
    total: int
    previous: str | None
    next: str | None


def folder_url(folder_id: object, path: str = "", offset: int = 0) -> str:
    query = {key: value for key, value in (("path", path), ("offset", offset)) if value}
    return f"/data/{folder_id}" + (f"?{urlencode(query)}" if query else "")


def download_url(folder_id: object, path: str) -> str:
    return f"/api/v1/folders/{folder_id}/download?{urlencode({'path': path})}"


def crumbs(access: Access, path: str) -> list[Crumb]:
    """The folder, then each directory down to `path`, each a link."""
    found = [Crumb(access.name, folder_url(access.folder.id))]
    parts = PurePosixPath(path).parts if path else ()
    for depth, part in enumerate(parts, start=1):
        found.append(Crumb(part, folder_url(access.folder.id, "/".join(parts[:depth]))))
    return found


def file_rows(access: Access, page: FilesPublic) -> list[FileRow]:
    folder_id = access.folder.id
    return [
        FileRow(
            entry=entry,
            size="" if entry.type == "dir" else folders.human_bytes(entry.size),
            modified=entry.modified.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            url=folder_url(folder_id, entry.path)
            if entry.type == "dir"
            else download_url(folder_id, entry.path),
        )
        for entry in page.data
    ]


def pager(access: Access, page: FilesPublic) -> Pager:
    folder_id, last = access.folder.id, page.offset + len(page.data)
    previous = None
    if page.offset > 0:
        previous = folder_url(folder_id, page.path, max(0, page.offset - page.limit))
    following = folder_url(folder_id, page.path, last) if last < page.count else None
    return Pager(
        first=page.offset + 1 if page.data else 0,
        last=last,
        total=page.count,
        previous=previous,
        next=following,
    )


def joined(directory: str, name: str) -> str:
    """A name typed in a dialog, under the directory being shown."""
    return str(PurePosixPath(directory or ".") / name.strip().lstrip("/"))


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
