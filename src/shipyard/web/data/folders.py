"""The Data & Storage page and its folder dialogs: create, rename, delete, leave.

Dialogs (`view.DIALOGS`) open in a modal, or as pages without htmx; sharing is in sharing.py,
answers to invitations in invitations.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from shipyard.http.deps import DbDep, SettingsDep
from shipyard.i18n import _
from shipyard.storage import access as acl
from shipyard.storage import service as folders
from shipyard.storage import sharing
from shipyard.storage.access import Access
from shipyard.validation import NO_NUL
from shipyard.web import kit
from shipyard.web.data import view
from shipyard.web.data.view import DIALOGS
from shipyard.web.deps import CurrentViewer, Viewer
from shipyard.web.htmx import render

router = APIRouter(prefix="/data")

Text = Annotated[str, Form(max_length=1024, pattern=NO_NUL)]
FOLDERS_CHANGED = "shipyard:folders-changed"


def back_to(access: Access) -> str:
    return f"/data?tab={view.TAB_OF.get(access.via, 'own')}"


# The page -----------------------------------------------------------------------------------


@router.get("")
def data_page(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    settings: SettingsDep,
    tab: Annotated[str, Query(max_length=16)] = "own",
) -> HTMLResponse:
    """Own, project and shared folders; htmx refreshes get only the folder lists."""
    context = {
        "page": view.data_page(db, settings, user=viewer.user),
        "tab": tab if tab in view.TABS else "own",
        **view.looks(),
    }
    return render(request, "data.html", context, viewer=viewer, fragment="_folders.html")


# Create -----------------------------------------------------------------------------------


def _create_context(db: Session, viewer: Viewer, form: dict[str, str]) -> dict[str, Any]:
    return {
        "form": form,
        "projects": view.folder_projects(db, viewer.user, viewer.projects),
        "name_rule": view.name_rule(),
        "back": "/data",
    }


NEW_FOLDER = {"name": "", "usage_mode": "general", "project": ""}


@router.get("/new")
def new_folder(request: Request, viewer: CurrentViewer, db: DbDep) -> HTMLResponse:
    context = _create_context(db, viewer, NEW_FOLDER)
    return DIALOGS.show(request, viewer, "_folder_create.html", context)


@router.post("/new")
def create_folder(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    settings: SettingsDep,
    name: Text = "",
    usage_mode: Text = "general",
    project: Text = "",
) -> Response:
    form = {"name": name, "usage_mode": usage_mode, "project": project}

    def create() -> Access:
        spec = view.folder_spec(name=name, usage_mode=usage_mode, project=project)
        return folders.create_folder(db, settings, user=viewer.user, spec=spec)

    def created(access: Access) -> Response:
        message = _("Folder %(name)s created.") % {"name": access.name}
        detail = {"tab": view.TAB_OF.get(access.via, "own")}
        return kit.done(
            request, event=FOLDERS_CHANGED, message=message, back=back_to(access), detail=detail
        )

    return DIALOGS.submit(
        request,
        viewer,
        template="_folder_create.html",
        context=lambda: _create_context(db, viewer, form),
        action=create,
        on_done=created,
    )


# Rename, delete, leave ----------------------------------------------------------------------


def _rename_context(access: Access, name: str) -> dict[str, Any]:
    return {
        "access": access,
        "form": {"name": name},
        "name_rule": view.name_rule(),
        "back": back_to(access),
    }


def _confirm_context(access: Access) -> dict[str, Any]:
    return {"access": access, "form": {}, "back": back_to(access)}


def _changed(request: Request, access: Access, message: str) -> Response:
    return kit.done(request, event=FOLDERS_CHANGED, message=message, back=back_to(access))


def _confirmed(
    request: Request,
    viewer: Viewer,
    access: Access,
    *,
    template: str,
    action: Callable[[], None],
    message: str,
) -> Response:
    """A confirmation's submit: the action, then `message`; a refusal shows the dialog again."""
    return DIALOGS.submit(
        request,
        viewer,
        template=template,
        context=lambda: _confirm_context(access),
        action=action,
        on_done=lambda _none: _changed(request, access, message),
    )


@router.get("/{ref}/rename")
def rename_dialog(request: Request, viewer: CurrentViewer, db: DbDep, ref: str) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    context = _rename_context(access, access.name)
    return DIALOGS.show(request, viewer, "_folder_rename.html", context)


@router.post("/{ref}/rename")
def rename(
    request: Request, viewer: CurrentViewer, db: DbDep, ref: str, name: Text = ""
) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    return DIALOGS.submit(
        request,
        viewer,
        template="_folder_rename.html",
        context=lambda: _rename_context(access, name),
        action=lambda: folders.rename_folder(
            db, user=viewer.user, ref=str(access.folder.id), name=view.checked_name(name)
        ),
        on_done=lambda renamed: _changed(
            request, access, _("Renamed to %(name)s.") % {"name": renamed.name}
        ),
    )


@router.get("/{ref}/delete")
def delete_dialog(request: Request, viewer: CurrentViewer, db: DbDep, ref: str) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    return DIALOGS.show(request, viewer, "_folder_delete.html", _confirm_context(access))


@router.post("/{ref}/delete")
def delete(
    request: Request, viewer: CurrentViewer, db: DbDep, settings: SettingsDep, ref: str
) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    return _confirmed(
        request,
        viewer,
        access,
        template="_folder_delete.html",
        action=lambda: folders.delete_folder(
            db, settings, user=viewer.user, ref=str(access.folder.id)
        ),
        message=_("Folder %(name)s deleted.") % {"name": access.name},
    )


@router.get("/{ref}/leave")
def leave_dialog(request: Request, viewer: CurrentViewer, db: DbDep, ref: str) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    return DIALOGS.show(request, viewer, "_folder_leave.html", _confirm_context(access))


@router.post("/{ref}/leave")
def leave(request: Request, viewer: CurrentViewer, db: DbDep, ref: str) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    return _confirmed(
        request,
        viewer,
        access,
        template="_folder_leave.html",
        action=lambda: sharing.leave(db, user=viewer.user, ref=str(access.folder.id)),
        message=_("You left %(name)s.") % {"name": access.name},
    )
