"""The Summary page's figures panels: Resource Statistics and System Resources.

The resource group chosen in Resource Statistics is remembered per browser in a cookie, so
the full page and the panel's own refreshes show the same group. Both routes answer as the
page's live panels do (summary/panels.py): 204 when the browser already shows this HTML.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from shipyard.http.deps import DbDep
from shipyard.summary import service as summary
from shipyard.web import cookies
from shipyard.web.deps import CurrentViewer, Viewer
from shipyard.web.htmx import FRAGMENT_ONLY
from shipyard.web.summary.panels import answer, html_of

router = APIRouter()

GROUP_COOKIE = "shipyard_summary_group"
GroupQuery = Annotated[str | None, Query(max_length=64, description="a resource group name")]


def chosen_group(request: Request) -> str | None:
    """The resource group this browser chose last (None: the project's first)."""
    return request.cookies.get(GROUP_COOKIE) or None


def resources_context(db: Session, viewer: Viewer, *, group: str | None) -> dict[str, Any]:
    """What _summary_resources.html needs, for the viewer's current project."""
    statistics = summary.resource_statistics(
        db, user=viewer.user, project=viewer.current_project, group_name=group
    )
    return {"resources": statistics}


def system_context(db: Session, viewer: Viewer) -> dict[str, Any]:
    """What _summary_system.html needs (a normal user's own session count only)."""
    return {"system": summary.system_resources(db, user=viewer.user)}


@router.get("/summary/resources", dependencies=[FRAGMENT_ONLY])
def resources(
    request: Request, viewer: CurrentViewer, db: DbDep, group: GroupQuery = None
) -> Response:
    """The Resource Statistics panel; `group` chooses (and remembers) the resource group."""
    context = resources_context(db, viewer, group=group or chosen_group(request))
    response = answer(request, html_of(request, viewer, "_summary_resources.html", context))
    chosen = context["resources"].group
    if group and chosen == group:
        cookies.set_preference(request, response, GROUP_COOKIE, chosen)
    return response


@router.get("/summary/system", dependencies=[FRAGMENT_ONLY])
def system(request: Request, viewer: CurrentViewer, db: DbDep) -> Response:
    """The System Resources panel."""
    return answer(
        request, html_of(request, viewer, "_summary_system.html", system_context(db, viewer))
    )
