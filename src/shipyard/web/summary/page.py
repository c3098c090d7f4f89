"""The Summary page, the console's home, and the fragments its own live panels refresh from.

Resource Statistics and System Resources refresh from summary/figures.py; the desktop app
panel comes from web/desktop/downloads.py. Each panel is rendered on its own
(summary/panels.py): one failing shows a notice in its place and the rest of the page.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from shipyard.http.deps import DbDep
from shipyard.i18n import _
from shipyard.storage import sharing
from shipyard.web.data import view
from shipyard.web.deps import CurrentViewer, Viewer
from shipyard.web.desktop.downloads import desktop_context
from shipyard.web.htmx import FRAGMENT_ONLY, is_htmx, render
from shipyard.web.summary.figures import chosen_group, resources_context, system_context
from shipyard.web.summary.panels import PROJECT_POLL, Panel, answer, guarded, html_of

router = APIRouter()

ANNOUNCEMENT_URL = "/summary/announcement"
INVITATIONS_URL = "/summary/invitations"
# Ids of the invitations a refresh finds still waiting on the page (see _summary_invitations).
ShownIds = Annotated[list[uuid.UUID] | None, Query(alias="pending", max_length=500)]


def _announcement_context(viewer: Viewer) -> dict[str, Any]:
    return {"announcement": viewer.announcement}  # read for every page by require_viewer


def _invitations_context(db: Session, viewer: Viewer) -> dict[str, Any]:
    return {
        "invitations": sharing.pending_for(db, viewer.user),
        "perm_labels": view.perm_labels(),
        "badges": view.BADGES,
    }


def _panels(request: Request, viewer: Viewer, db: Session) -> dict[str, Panel]:
    """Every live panel, each rendered on its own."""

    def live(name: str, url: str, title: str, template: str, context: Any, **kw: str) -> Panel:
        html = guarded(request, viewer, db, title=title, template=template, context_of=context)
        return Panel(name=name, url=url, html=html, **kw)

    group = chosen_group(request)
    return {
        "resources": live(
            "resources",
            "/summary/resources",
            _("Resource Statistics"),
            "_summary_resources.html",
            lambda: resources_context(db, viewer, group=group),
            trigger=PROJECT_POLL,
        ),
        "system": live(
            "system",
            "/summary/system",
            _("System Resources"),
            "_summary_system.html",
            lambda: system_context(db, viewer),
        ),
        "announcement": live(
            "announcement",
            ANNOUNCEMENT_URL,
            _("Announcement"),
            "_summary_announcement.html",
            lambda: _announcement_context(viewer),
        ),
        "invitations": live(
            "invitations",
            INVITATIONS_URL,
            _("Invitations"),
            "_summary_invitations.html",
            lambda: _invitations_context(db, viewer),
        ),
    }


def _desktop(request: Request, viewer: Viewer, db: Session) -> Markup:
    return guarded(
        request,
        viewer,
        db,
        title=_("Desktop app"),
        template="_summary_desktop.html",
        context_of=lambda: desktop_context(request),
    )


@router.get("/")
def summary(request: Request, viewer: CurrentViewer, db: DbDep) -> HTMLResponse:
    """The panels; an htmx request (another project chosen) gets the project panel alone."""
    if is_htmx(request):
        return render(request, "_summary_project.html", viewer=viewer)
    context = {
        "panels": _panels(request, viewer, db),
        "desktop": _desktop(request, viewer, db),
        "start_group": chosen_group(request),
    }
    return render(request, "summary.html", context, viewer=viewer)


@router.get(ANNOUNCEMENT_URL, dependencies=[FRAGMENT_ONLY])
def announcement_panel(request: Request, viewer: CurrentViewer) -> Response:
    """The Announcement panel (204 when the page already shows this version)."""
    html = html_of(request, viewer, "_summary_announcement.html", _announcement_context(viewer))
    return answer(request, html)


@router.get(INVITATIONS_URL, dependencies=[FRAGMENT_ONLY])
def invitations_panel(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    shown: ShownIds = None,
    listed: bool = False,
) -> Response:
    """The Invitation panel. A refresh (`listed`) that finds the same invitations waiting as
    the page shows gets 204, so cards just answered keep their "Accepted" or "Declined"."""
    context = _invitations_context(db, viewer)
    html = html_of(request, viewer, "_summary_invitations.html", context)
    same = {i.id for i in context["invitations"]} == set(shown or ())
    return answer(request, html, unchanged=listed and same)
