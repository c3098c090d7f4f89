"""Sharing a user folder (its owner): invite by email, change a permission, revoke, cancel.

The share dialog stays open after each change (htmx) and shows what changed; an invite's
refusal shows by its field, any other above the list of shares.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from shipyard.errors import InvalidInput, ShipyardError
from shipyard.http.deps import DbDep
from shipyard.http.errors import status_of
from shipyard.i18n import _
from shipyard.storage import access as acl
from shipyard.storage import sharing
from shipyard.storage.access import Access
from shipyard.storage.models import Perm
from shipyard.web import kit
from shipyard.web.data import view
from shipyard.web.data.folders import Text, back_to
from shipyard.web.data.view import DIALOGS
from shipyard.web.deps import CurrentViewer, Viewer
from shipyard.web.htmx import is_htmx

router = APIRouter(prefix="/data")


def _perm(value: str) -> Perm:
    try:
        return Perm(value)
    except ValueError:
        raise InvalidInput(_("Choose a permission."), details={"field": "permission"}) from None


def _invitation_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput(_("Choose an invitation to cancel.")) from None


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
        errors = kit.errors_of(error, typed) if form else {"shares": error.message}
    context: dict[str, Any] = {
        "access": access,
        "shares": shares,
        "form": typed,
        "choices": view.perm_choices(),
        "notice": notice,
        "back": back_to(access),
        "errors": errors,
    }
    code = status_of(error) if error else 200
    return DIALOGS.show(request, viewer, "_folder_share.html", context, status_code=code)


def _shared(request: Request, viewer: Viewer, db: Session, access: Access, notice: str) -> Response:
    if not is_htmx(request):
        return kit.see_other(f"/data/{access.folder.id}/share")
    return _share_dialog(request, viewer, db, access, notice=notice)


def _change(
    request: Request,
    viewer: Viewer,
    db: Session,
    access: Access,
    *,
    action: Callable[[], object],
    notice: Callable[[], str],
    form: dict[str, str] | None = None,
) -> Response:
    """Run a change of the shares: the dialog again with `notice()`, or with the refusal
    (by its field of `form` for an invite, else above the shares)."""
    return kit.attempt(
        action,
        on_done=lambda _result: _shared(request, viewer, db, access, notice()),
        on_refused=lambda exc: _share_dialog(request, viewer, db, access, form=form, error=exc),
    )


def _invited(email: str) -> str:
    """The same words whether the address has an account or not (storage.sharing)."""
    return _(
        "%(email)s is invited. If that address has no account yet, the invitation waits for it."
    ) % {"email": email.strip().lower()}


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
    return _change(
        request,
        viewer,
        db,
        access,
        action=lambda: sharing.invite(
            db, user=viewer.user, ref=str(access.folder.id), email=email, perm=_perm(permission)
        ),
        notice=lambda: _invited(email),
        form={"email": email, "permission": permission},
    )


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
    return _change(
        request,
        viewer,
        db,
        access,
        action=lambda: sharing.change(
            db, user=viewer.user, ref=str(access.folder.id), email=email, perm=_perm(permission)
        ),
        notice=lambda: (
            _("%(email)s now has %(permission)s access.")
            % {"email": email, "permission": view.perm_labels()[permission]}
        ),
    )


@router.post("/{ref}/share/revoke")
def revoke(
    request: Request, viewer: CurrentViewer, db: DbDep, ref: str, email: Text = ""
) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    return _change(
        request,
        viewer,
        db,
        access,
        action=lambda: sharing.revoke(db, user=viewer.user, ref=str(access.folder.id), email=email),
        notice=lambda: _("%(email)s no longer has access.") % {"email": email},
    )


@router.post("/{ref}/share/cancel")
def cancel_invitation(
    request: Request, viewer: CurrentViewer, db: DbDep, ref: str, invitation: Text = ""
) -> Response:
    access = acl.resolve(db, viewer.user, ref)
    return _change(
        request,
        viewer,
        db,
        access,
        action=lambda: sharing.cancel(
            db, user=viewer.user, invitation_id=_invitation_id(invitation)
        ),
        notice=lambda: _("Invitation canceled."),
    )
