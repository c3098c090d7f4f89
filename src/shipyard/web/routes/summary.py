"""The Summary page, the console's home."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from shipyard.api.deps import DbDep
from shipyard.storage import sharing
from shipyard.web import storage_view as view
from shipyard.web.deps import CurrentViewer
from shipyard.web.htmx import is_htmx, render

router = APIRouter()


@router.get("/")
def summary(request: Request, viewer: CurrentViewer, db: DbDep) -> HTMLResponse:
    """The panels; an htmx refresh (another project chosen) gets the project panel alone."""
    context = {
        "invitations": [] if is_htmx(request) else sharing.pending_for(db, viewer.user),
        "perm_labels": view.perm_labels(),
        "badges": view.BADGES,
    }
    return render(request, "summary.html", context, viewer=viewer, fragment="_summary_project.html")
