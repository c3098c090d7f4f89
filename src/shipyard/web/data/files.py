"""A folder's file browser: one directory a page at a time, new folder, rename or move, delete.

Uploads go from the browser straight to the tus API (static/js/upload.js); this page only
tells the script where to send them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from shipyard.config import Settings
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.i18n import _
from shipyard.storage import access as acl
from shipyard.storage import files
from shipyard.storage import service as folders
from shipyard.storage.access import Access, Action
from shipyard.storage.schemas import FilesPublic
from shipyard.validation import NO_NUL
from shipyard.web import kit
from shipyard.web.data import view
from shipyard.web.data.view import DIALOGS
from shipyard.web.deps import CurrentViewer, Viewer
from shipyard.web.htmx import render

router = APIRouter(prefix="/data")

PathText = Annotated[str, Form(max_length=4096, pattern=NO_NUL)]
PathQuery = Annotated[str, Query(max_length=4096, pattern=NO_NUL)]
FILES_CHANGED = "shipyard:files-changed"


def browser_context(
    db: Session, settings: Settings, access: Access, page: FilesPublic
) -> dict[str, Any]:
    folders.refresh_usage(db, settings, access.folder)
    shown = folders.present(db, [access])[0]
    return {
        "access": access,
        "shown": shown,
        "usage": view.usage_of(shown.used_bytes, shown.max_size),
        "listing": page,
        "rows": view.file_rows(access, page),
        "crumbs": view.crumbs(access, page.path),
        "pager": view.pager(access, page),
        "can_write": access.can(Action.WRITE),
        "can_delete": access.can(Action.DELETE),
        "upload_endpoint": f"/api/v1/folders/{access.folder.id}/uploads",
        "chunk_size": view.CHUNK_SIZE,
        "folder_url": view.folder_url,
        **view.looks(),
    }


@router.get("/{ref}")
def folder_page(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    settings: SettingsDep,
    ref: str,
    path: PathQuery = "",
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> HTMLResponse:
    """One directory of the folder; htmx refreshes (after uploads and changes) get the listing."""
    access, page = files.list_files(
        db, settings, user=viewer.user, ref=ref, path=path, offset=offset, limit=view.PAGE_SIZE
    )
    context = browser_context(db, settings, access, page)
    return render(request, "folder.html", context, viewer=viewer, fragment="_files.html")


def parent_of(path: str) -> str:
    parent = str(PurePosixPath(path).parent)
    return "" if parent == "." else parent


def _file_context(
    access: Access, path: str, form: dict[str, str], *, back: str | None = None
) -> dict[str, Any]:
    """A file dialog's context; Cancel goes back to the directory that shows `path`."""
    return {
        "access": access,
        "path": path,
        "form": form,
        "back": back or view.folder_url(access.folder.id, parent_of(path)),
    }


def _submit(
    request: Request,
    viewer: Viewer,
    access: Access,
    *,
    template: str,
    path: str,
    form: dict[str, str],
    action: Callable[[], object],
    message: str,
    back: str | None = None,
) -> Response:
    """A file dialog's submit: the action, then `message` and back to the directory that
    shows `path` (or `back`); a refusal shows the dialog again as typed."""
    context = _file_context(access, path, form, back=back)
    return DIALOGS.submit(
        request,
        viewer,
        template=template,
        context=context,
        action=action,
        on_done=lambda _result: kit.done(
            request, event=FILES_CHANGED, message=message, back=context["back"]
        ),
    )


# New folder ---------------------------------------------------------------------------------


@router.get("/{ref}/files/mkdir")
def mkdir_dialog(
    request: Request, viewer: CurrentViewer, db: DbDep, ref: str, path: PathQuery = ""
) -> Response:
    access = acl.require(db, viewer.user, ref, Action.WRITE)
    back = view.folder_url(access.folder.id, path)
    context = _file_context(access, path, {"name": ""}, back=back)
    return DIALOGS.show(request, viewer, "_file_mkdir.html", context)


@router.post("/{ref}/files/mkdir")
def mkdir(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    settings: SettingsDep,
    ref: str,
    path: PathText = "",
    name: PathText = "",
) -> Response:
    access = acl.require(db, viewer.user, ref, Action.WRITE)
    return _submit(
        request,
        viewer,
        access,
        template="_file_mkdir.html",
        path=path,
        form={"name": name, "path": ""},
        action=lambda: files.make_dir(
            db, settings, user=viewer.user, ref=ref, path=view.joined(path, name)
        ),
        message=_("Folder %(name)s created.") % {"name": name.strip()},
        back=view.folder_url(access.folder.id, path),
    )


# Rename or move -------------------------------------------------------------------------------


@router.get("/{ref}/files/move")
def move_dialog(
    request: Request, viewer: CurrentViewer, db: DbDep, ref: str, path: PathQuery = ""
) -> Response:
    access = acl.require(db, viewer.user, ref, Action.WRITE)
    context = _file_context(access, path, {"target": path})
    return DIALOGS.show(request, viewer, "_file_move.html", context)


@router.post("/{ref}/files/move")
def move(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    settings: SettingsDep,
    ref: str,
    source: PathText = "",
    target: PathText = "",
) -> Response:
    access = acl.require(db, viewer.user, ref, Action.WRITE)
    return _submit(
        request,
        viewer,
        access,
        template="_file_move.html",
        path=source,
        form={"target": target, "path": ""},
        action=lambda: files.move(
            db, settings, user=viewer.user, ref=ref, source=source, target=target
        ),
        message=_("Moved to %(target)s.") % {"target": target},
    )


# Delete ---------------------------------------------------------------------------------------


@router.get("/{ref}/files/delete")
def delete_dialog(
    request: Request, viewer: CurrentViewer, db: DbDep, ref: str, path: PathQuery = ""
) -> Response:
    access = acl.require(db, viewer.user, ref, Action.DELETE)
    context = _file_context(access, path, {"path": path})
    return DIALOGS.show(request, viewer, "_file_delete.html", context)


@router.post("/{ref}/files/delete")
def delete(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    settings: SettingsDep,
    ref: str,
    path: PathText = "",
) -> Response:
    access = acl.require(db, viewer.user, ref, Action.DELETE)
    return _submit(
        request,
        viewer,
        access,
        template="_file_delete.html",
        path=path,
        form={"path": path},
        action=lambda: files.delete(db, settings, user=viewer.user, ref=ref, path=path),
        message=_("%(name)s deleted.") % {"name": PurePosixPath(path).name},
    )
