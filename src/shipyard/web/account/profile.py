"""The user menu's pages: current project, My Account, Logs / Errors.

My Account opens in a modal (htmx fills #account-box) or, without htmx, as a page of its own.
A refusal shows the form again with the message by its field; nothing has changed then.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shipyard.errors import InvalidInput
from shipyard.http.deps import DbDep, SettingsDep, client_address
from shipyard.http.errors import status_of
from shipyard.i18n import _
from shipyard.projects import service as projects
from shipyard.users import service as users
from shipyard.web import kit
from shipyard.web.deps import CurrentViewer, Viewer
from shipyard.web.forms import LongText, ShortText
from shipyard.web.htmx import is_htmx, render, trigger

router = APIRouter()

ACCOUNT_FIELDS = ("full_name", "current_password", "new_password", "new_password_again")
ACCOUNT_UPDATED = "shipyard:account-updated"
NOTICES = {
    "profile": lambda: _("Your account has been updated."),
    "password": lambda: _(
        "Your password has been changed. Every other session of yours has been logged out "
        "and your API tokens no longer work: log in again in the CLI."
    ),
}


@router.post("/current-project")
def switch_project(
    request: Request, viewer: CurrentViewer, db: DbDep, project_id: ShortText = ""
) -> Response:
    """Remember the chosen project; htmx pages get the new selector and an event."""
    try:
        chosen = uuid.UUID(project_id)
    except ValueError as exc:
        raise InvalidInput(_("Choose a project from the list.")) from exc
    project = projects.switch_project(db, user=viewer.user, project_id=chosen)
    if not is_htmx(request):
        return RedirectResponse("/", status_code=303)
    updated = Viewer(principal=viewer.principal, projects=viewer.projects, current_project=project)
    response = render(request, "_project_selector.html", viewer=updated)
    return trigger(response, "shipyard:project-changed", {"id": str(project.id)})


def _role_names() -> dict[str, Any]:
    return {"role_names": {"superadmin": _("Superadmin"), "admin": _("Admin"), "user": _("User")}}


# My Account: the modal's content (htmx, always 200 so that htmx swaps it), else a page.
ACCOUNT = kit.Dialogs(page="account.html", looks=_role_names)


def _account(
    request: Request,
    viewer: Viewer,
    *,
    full_name: str,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """My Account's form, as typed, with the errors by their fields and a notice."""
    context = {"form": {"full_name": full_name}, "errors": errors or {}, "notice": notice}
    return ACCOUNT.show(request, viewer, "_account_dialog.html", context, status_code=status_code)


@router.get("/account")
def account(
    request: Request,
    viewer: CurrentViewer,
    updated: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    notice = NOTICES[updated]() if updated in NOTICES else ""
    return _account(request, viewer, full_name=viewer.user.full_name, notice=notice)


def _password_change(
    request: Request, viewer: Viewer, *, current: str, new: str, again: str
) -> users.PasswordChange | None:
    """A password change when a new password (or its confirmation) was typed, else None."""
    if not new and not again:
        return None
    web_session = viewer.principal.web_session
    return users.PasswordChange(
        current=current,
        new=new,
        again=again,
        client_address=client_address(request),
        keep_session=web_session.id if web_session else None,
    )


@router.post("/account")
def update_account(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    settings: SettingsDep,
    full_name: LongText = "",
    current_password: LongText = "",
    new_password: LongText = "",
    new_password_again: LongText = "",
) -> Response:
    change = _password_change(
        request, viewer, current=current_password, new=new_password, again=new_password_again
    )
    return kit.attempt(
        lambda: users.update_account(
            db, viewer.user, full_name=full_name, change=change, settings=settings
        ),
        on_done=lambda revoked: _updated(request, viewer, password=revoked is not None),
        on_refused=lambda exc: _account(
            request,
            viewer,
            full_name=full_name,
            errors=kit.errors_of(exc, ACCOUNT_FIELDS),
            status_code=status_of(exc),
        ),
    )


def _updated(request: Request, viewer: Viewer, *, password: bool) -> Response:
    """The form again with what changed (htmx, and an event for the top bar), else back."""
    outcome = "password" if password else "profile"
    if not is_htmx(request):
        return kit.see_other(f"/account?updated={outcome}")
    response = _account(request, viewer, full_name=viewer.user.full_name, notice=NOTICES[outcome]())
    return trigger(response, ACCOUNT_UPDATED, {"name": viewer.user.display_name})


@router.get("/logs")
def client_logs(request: Request, viewer: CurrentViewer) -> HTMLResponse:
    return render(request, "logs.html", viewer=viewer)
