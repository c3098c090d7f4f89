"""The Data & Storage page: folders, their dialogs (create, rename, delete, share, leave) and
answers to invitations. Dialogs (web/dialogs.py) open in a modal, or as pages without htmx."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from shipyard.errors import InvalidInput, ShipyardError
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.http.errors import status_of
from shipyard.i18n import _
from shipyard.storage import access as acl
from shipyard.storage import service as folders
from shipyard.storage import sharing
from shipyard.storage.access import Access
from shipyard.storage.models import Perm
from shipyard.storage.schemas import InvitationPublic
from shipyard.validation import NO_NUL
from shipyard.web import storage_view as view
from shipyard.web.deps import CurrentViewer, Viewer
from shipyard.web.dialogs import dialog, done, field_of, looks, refused
from shipyard.web.htmx import is_htmx, render, trigger

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
        **looks(),
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
    return dialog(request, viewer, "_folder_create.html", context)


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
    try:
        spec = view.folder_spec(name=name, usage_mode=usage_mode, project=project)
        access = folders.create_folder(db, settings, user=viewer.user, spec=spec)
    except ShipyardError as exc:
        context = _create_context(db, viewer, form)
        return refused(request, viewer, "_folder_create.html", context, exc)
    tab = view.TAB_OF.get(access.via, "own")
    message = _("Folder %(name)s created.") % {"name": access.name}
    return done(
        request, event=FOLDERS_CHANGED, message=message, back=back_to(access), detail={"tab": tab}
    )


# Rename, delete, leave ----------------------------------------------------------------------


def _rename_context(access: Access, name: str) -> dict[str, Any]:
    return {
        "access": access,
        "form": {"name": name},
        "name_rule": view.name_rule(),
        "back": back_to(access),
    }


@router.get("/{ref}/rename")
def rename_dialog(request: Request, viewer: CurrentViewer, db: DbDep, ref: str) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    context = _rename_context(access, access.name)
    return dialog(request, viewer, "_folder_rename.html", context)


@router.post("/{ref}/rename")
def rename(
    request: Request, viewer: CurrentViewer, db: DbDep, ref: str, name: Text = ""
) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    try:
        renamed = folders.rename_folder(
            db, user=viewer.user, ref=str(access.folder.id), name=view.checked_name(name)
        )
    except ShipyardError as exc:
        context = _rename_context(access, name)
        return refused(request, viewer, "_folder_rename.html", context, exc)
    message = _("Renamed to %(name)s.") % {"name": renamed.name}
    return done(request, event=FOLDERS_CHANGED, message=message, back=back_to(access))


@router.get("/{ref}/delete")
def delete_dialog(request: Request, viewer: CurrentViewer, db: DbDep, ref: str) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    context = {"access": access, "form": {}, "back": back_to(access)}
    return dialog(request, viewer, "_folder_delete.html", context)


@router.post("/{ref}/delete")
def delete(
    request: Request, viewer: CurrentViewer, db: DbDep, settings: SettingsDep, ref: str
) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    try:
        folders.delete_folder(db, settings, user=viewer.user, ref=str(access.folder.id))
    except ShipyardError as exc:
        context = {"access": access, "form": {}, "back": back_to(access)}
        return refused(request, viewer, "_folder_delete.html", context, exc)
    message = _("Folder %(name)s deleted.") % {"name": access.name}
    return done(request, event=FOLDERS_CHANGED, message=message, back=back_to(access))


@router.get("/{ref}/leave")
def leave_dialog(request: Request, viewer: CurrentViewer, db: DbDep, ref: str) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    context = {"access": access, "form": {}, "back": back_to(access)}
    return dialog(request, viewer, "_folder_leave.html", context)


@router.post("/{ref}/leave")
def leave(request: Request, viewer: CurrentViewer, db: DbDep, ref: str) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    try:
        sharing.leave(db, user=viewer.user, ref=str(access.folder.id))
    except ShipyardError as exc:
        context = {"access": access, "form": {}, "back": back_to(access)}
        return refused(request, viewer, "_folder_leave.html", context, exc)
    message = _("You left %(name)s.") % {"name": access.name}
    return done(request, event=FOLDERS_CHANGED, message=message, back=back_to(access))


# Invitations addressed to the viewer ----------------------------------------------------------


def _card(
    request: Request,
    viewer: Viewer,
    invitation_id: uuid.UUID,
    *,
    invitation: InvitationPublic | None,
    state: str = "",
    error: ShipyardError | None = None,
    access: Access | None = None,
) -> HTMLResponse:
    """An invitation's card after an answer (or the reason it could not be given)."""
    context = {
        "invitation_id": invitation_id,
        "invitation": invitation,
        "state": state,
        "error": error.message if error else "",
        "access": access,
        **looks(),
    }
    code = status_of(error) if error and not is_htmx(request) else 200
    return render(request, "_invitation.html", context, viewer=viewer, status_code=code)


def _pending(db: Session, viewer: Viewer, invitation_id: uuid.UUID) -> InvitationPublic | None:
    return next((i for i in sharing.pending_for(db, viewer.user) if i.id == invitation_id), None)


def _after_answer(next_page: str) -> RedirectResponse:
    """A plain form goes back to where the invitation was shown: /data or the Summary page."""
    return RedirectResponse("/data" if next_page == "/data" else "/", status_code=303)


NextPage = Annotated[str, Form(alias="next", max_length=1024, pattern=NO_NUL)]


@router.post("/invitations/{invitation_id}/accept")
def accept(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    invitation_id: uuid.UUID,
    next_page: NextPage = "",
) -> Response:
    invitation = _pending(db, viewer, invitation_id)
    try:
        access = sharing.accepted_folder(db, user=viewer.user, invitation_id=invitation_id)
    except ShipyardError as exc:
        return _card(request, viewer, invitation_id, invitation=invitation, error=exc)
    if not is_htmx(request):
        return _after_answer(next_page)
    response = _card(
        request, viewer, invitation_id, invitation=invitation, state="accepted", access=access
    )
    return trigger(response, FOLDERS_CHANGED, {"tab": "shared"})


@router.post("/invitations/{invitation_id}/decline")
def decline(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    invitation_id: uuid.UUID,
    next_page: NextPage = "",
) -> Response:
    invitation = _pending(db, viewer, invitation_id)
    try:
        sharing.decline(db, user=viewer.user, invitation_id=invitation_id)
    except ShipyardError as exc:
        return _card(request, viewer, invitation_id, invitation=invitation, error=exc)
    if not is_htmx(request):
        return _after_answer(next_page)
    return _card(request, viewer, invitation_id, invitation=invitation, state="declined")


# Sharing (the owner of a user folder) -------------------------------------------------------


def _perm(value: str) -> Perm:
    try:
        return Perm(value)
    except ValueError:
        raise InvalidInput(_("Choose a permission."), details={"field": "permission"}) from None


def _share_dialog(
    request: Request,
    viewer: Viewer,
    db: Session,
    access: Access,
    *,
    form: dict[str, str] | None = None,
    notice: str = "",
    error: ShipyardError | None = None,
) -> HTMLResponse:
    """The share dialog; an invite's error shows by its field, others above the shares."""
    shares = sharing.shares_of(db, user=viewer.user, ref=str(access.folder.id))
    typed = form or {"email": "", "permission": Perm.RO.value}
    errors = {}
    if error is not None:
        errors = {field_of(error, typed) if form else "shares": error.message}
    context = {
        "access": access,
        "shares": shares,
        "form": typed,
        "choices": view.perm_choices(),
        "notice": notice,
        "back": back_to(access),
        "errors": errors,
    }
    code = status_of(error) if error else 200
    return dialog(request, viewer, "_folder_share.html", context, status_code=code)


def _shared(request: Request, viewer: Viewer, db: Session, access: Access, notice: str) -> Response:
    if not is_htmx(request):
        return RedirectResponse(f"/data/{access.folder.id}/share", status_code=303)
    return _share_dialog(request, viewer, db, access, notice=notice)


@router.get("/{ref}/share")
def share_dialog(request: Request, viewer: CurrentViewer, db: DbDep, ref: str) -> Response:
    return _share_dialog(request, viewer, db, acl.resolve(db, viewer.user, ref))


@router.post("/{ref}/share")
def invite(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    ref: str,
    email: Text = "",
    permission: Text = "ro",
) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    form = {"email": email, "permission": permission}
    try:
        sharing.invite(
            db, user=viewer.user, ref=str(access.folder.id), email=email, perm=_perm(permission)
        )
    except ShipyardError as exc:
        return _share_dialog(request, viewer, db, access, form=form, error=exc)
    notice = _("Invitation sent to %(email)s.") % {"email": email.strip()}
    return _shared(request, viewer, db, access, notice)


@router.post("/{ref}/share/permission")
def change_permission(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    ref: str,
    email: Text = "",
    permission: Text = "",
) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    try:
        sharing.change(
            db, user=viewer.user, ref=str(access.folder.id), email=email, perm=_perm(permission)
        )
    except ShipyardError as exc:
        return _share_dialog(request, viewer, db, access, error=exc)
    notice = _("%(email)s now has %(permission)s access.") % {
        "email": email,
        "permission": view.perm_labels()[permission],
    }
    return _shared(request, viewer, db, access, notice)


@router.post("/{ref}/share/revoke")
def revoke(
    request: Request, viewer: CurrentViewer, db: DbDep, ref: str, email: Text = ""
) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    try:
        sharing.revoke(db, user=viewer.user, ref=str(access.folder.id), email=email)
    except ShipyardError as exc:
        return _share_dialog(request, viewer, db, access, error=exc)
    notice = _("%(email)s no longer has access.") % {"email": email}
    return _shared(request, viewer, db, access, notice)


@router.post("/{ref}/share/cancel")
def cancel_invitation(
    request: Request, viewer: CurrentViewer, db: DbDep, ref: str, invitation: Text = ""
) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    try:
        invitation_id = uuid.UUID(invitation)
    except ValueError:
        error = InvalidInput(_("Choose an invitation to cancel."))
        return _share_dialog(request, viewer, db, access, error=error)
    try:
        sharing.cancel(db, user=viewer.user, invitation_id=invitation_id)
    except ShipyardError as exc:
        return _share_dialog(request, viewer, db, access, error=exc)
    return _shared(request, viewer, db, access, _("Invitation canceled."))
