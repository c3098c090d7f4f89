"""The user menu's pages: current project, My Account, Logs / Errors."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shipyard.api.deps import DbDep
from shipyard.errors import InvalidInput
from shipyard.i18n import _
from shipyard.projects import service as projects
from shipyard.web.deps import CurrentViewer, Viewer
from shipyard.web.forms import ShortText
from shipyard.web.htmx import is_htmx, render, trigger

router = APIRouter()


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


@router.get("/account")
def account(request: Request, viewer: CurrentViewer) -> HTMLResponse:
    role_names = {"superadmin": _("Superadmin"), "admin": _("Admin"), "user": _("User")}
    return render(request, "account.html", {"role_names": role_names}, viewer=viewer)


@router.get("/logs")
def client_logs(request: Request, viewer: CurrentViewer) -> HTMLResponse:
    return render(request, "logs.html", viewer=viewer)
