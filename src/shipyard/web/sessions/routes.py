"""The Sessions pages: the list, the START launcher with its fit check, and a session's page."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from shipyard.errors import InvalidInput, NotFound, PermissionDenied, QuotaExceeded, ShipyardError
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.sessions import logs as session_logs
from shipyard.sessions import service as sessions
from shipyard.sessions.models import ComputeSession
from shipyard.web import kit
from shipyard.web.deps import CurrentViewer, Viewer
from shipyard.web.htmx import is_htmx, render
from shipyard.web.sessions import view
from shipyard.web.sessions.launcher import (
    LaunchForm,
    LaunchFormDep,
    fit_context,
    launcher_context,
    launcher_errors,
)

router = APIRouter(prefix="/sessions")

# What a launch may be refused for; anything else is the error page's.
REFUSALS = (InvalidInput, NotFound, PermissionDenied, QuotaExceeded)


# The list ------------------------------------------------------------------------------


def _listing(db: Session, viewer: Viewer, include_finished: bool) -> dict[str, Any]:
    found, total = sessions.list_sessions(db, viewer=viewer.user, include_finished=include_finished)
    rows = view.rows_of(db, found)
    return {"rows": rows, "total": total, "include_finished": include_finished, **view.looks()}


def _launcher_page(
    request: Request,
    viewer: Viewer,
    db: Session,
    launcher: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """The launcher fragment for htmx; otherwise the list page with the launcher open."""
    context: dict[str, Any] = {"launcher": True, **launcher}
    if not is_htmx(request):
        context.update(_listing(db, viewer, include_finished=False))
    return render(
        request,
        "sessions.html",
        context,
        viewer=viewer,
        fragment="_launcher.html",
        status_code=status_code,
    )


@router.get("")
def list_page(request: Request, viewer: CurrentViewer, db: DbDep, all: bool = False) -> Response:
    """The viewer's sessions; htmx polls get only the table body."""
    return render(
        request,
        "sessions.html",
        _listing(db, viewer, include_finished=all),
        viewer=viewer,
        fragment="_sessions_table.html",
    )


# The launcher --------------------------------------------------------------------------


GroupQuery = Annotated[str | None, Query(max_length=64, description="a resource group name")]


@router.get("/launcher")
def launcher(
    request: Request, viewer: CurrentViewer, db: DbDep, group: GroupQuery = None
) -> Response:
    """The START launcher with its defaults, in resource group `group` when given (the one
    chosen on the Summary page); a full page (list + launcher) without htmx."""
    form = LaunchForm(resource_group=group or "")
    return _launcher_page(request, viewer, db, launcher_context(db, viewer, form, fresh=True))


@router.post("/launcher")
def launcher_for(
    request: Request, viewer: CurrentViewer, db: DbDep, form: LaunchFormDep
) -> Response:
    """The launcher again for the values so far: another project, group or environment."""
    return _launcher_page(request, viewer, db, launcher_context(db, viewer, form))


@router.post("/check")
def check_page(request: Request, viewer: CurrentViewer, db: DbDep, form: LaunchFormDep) -> Response:
    """Does the request fit now, and if not which limits block it (before submitting)."""
    return render(request, "_fit.html", fit_context(db, viewer, form), viewer=viewer)


@router.post("")
def create(
    request: Request, viewer: CurrentViewer, db: DbDep, settings: SettingsDep, form: LaunchFormDep
) -> Response:
    """Queue the session and go to its page; a refusal shows the launcher again, filled in."""
    return kit.attempt(
        lambda: sessions.create_session(db, settings, owner=viewer.user, spec=form.spec()),
        on_done=lambda session: _created(request, session),
        on_refused=lambda exc: _refused(request, viewer, db, form, exc),
        catch=REFUSALS,
    )


def _created(request: Request, session: ComputeSession) -> Response:
    target = f"/sessions/{session.id}"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return kit.see_other(target)


def _refused(
    request: Request, viewer: Viewer, db: Session, form: LaunchForm, exc: ShipyardError
) -> Response:
    """The launcher again, filled in, the refusal by its field (htmx swaps only 2xx answers)."""
    context = launcher_context(db, viewer, form, errors=launcher_errors(exc))
    return _launcher_page(
        request, viewer, db, context, status_code=kit.refusal_status(request, exc)
    )


# A session's page ----------------------------------------------------------------------


@router.get("/{ref}")
def session_page(request: Request, viewer: CurrentViewer, db: DbDep, ref: str) -> Response:
    session = sessions.by_name_or_id(db, viewer=viewer.user, ref=ref)
    context = view.session_context(db, session)
    return render(request, "session.html", context, viewer=viewer)


@router.get("/{ref}/logs")
def logs(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    settings: SettingsDep,
    ref: str,
    offset: Annotated[int, Query(ge=0)] = 0,
    seen: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """New output to append, the next poll (out of band) and, if it changed, the status."""
    session = sessions.by_name_or_id(db, viewer=viewer.user, ref=ref)
    update = replace(view.read_logs(db, settings, session, offset), seen=seen)
    context = {"part": "logs", "update": update, **view.session_context(db, session)}
    response = render(request, "session.html", context, viewer=viewer)
    if update.data:  # follow new output, but leave a reader alone while nothing comes
        response.headers["HX-Reswap"] = "beforeend scroll:#log-output:bottom"
    return response


@router.get("/{ref}/logs.txt")
def plain_logs(viewer: CurrentViewer, db: DbDep, settings: SettingsDep, ref: str) -> Response:
    """The output as a plain-text file, terminal control codes removed (the API's twin)."""
    session = sessions.by_name_or_id(db, viewer=viewer.user, ref=ref)
    return session_logs.plain_download(db, settings, session=session)


@router.post("/{ref}/terminate")
def terminate(
    viewer: CurrentViewer, db: DbDep, ref: str, back: Annotated[str, Form()] = ""
) -> Response:
    """End the session; back to its page, or to the list it was ended from (back=list)."""
    found = sessions.by_name_or_id(db, viewer=viewer.user, ref=ref)
    session = sessions.terminate(db, viewer=viewer.user, session_id=found.id)
    target = "/sessions" if back == "list" else f"/sessions/{session.id}"
    return RedirectResponse(target, status_code=303)
