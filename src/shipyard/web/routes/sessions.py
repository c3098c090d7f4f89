"""The Sessions pages: the list, the START launcher with its fit check, and a session's page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from shipyard.errors import Conflict, InvalidInput, NotFound, PermissionDenied, QuotaExceeded
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.http.errors import status_of
from shipyard.i18n import _
from shipyard.resources.slots import ResourceSlots, humanize
from shipyard.sessions import service as sessions
from shipyard.sessions.models import FINISHED, ComputeSession, SessionStatus, SessionType
from shipyard.sessions.presenter import present
from shipyard.sessions.schemas import SessionPublic
from shipyard.web.deps import CurrentViewer, Viewer
from shipyard.web.htmx import is_htmx, render
from shipyard.web.launcher import (
    LaunchFormDep,
    amount_text,
    field_of,
    fit_of,
    launcher_context,
)

router = APIRouter(prefix="/sessions")

LOG_POLL = "every 2s"
BADGES = {
    SessionStatus.PENDING: "bg-yellow-lt",
    SessionStatus.SCHEDULED: "bg-azure-lt",
    SessionStatus.PREPARING: "bg-azure-lt",
    SessionStatus.RUNNING: "bg-green-lt",
    SessionStatus.TERMINATING: "bg-orange-lt",
    SessionStatus.TERMINATED: "bg-secondary-lt",
    SessionStatus.ERROR: "bg-red-lt",
    SessionStatus.CANCELLED: "bg-secondary-lt",
}


# The list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    session: SessionPublic
    resources: str
    age: str


def resources_text(amounts: Mapping[str, str]) -> str:
    """'1.5 CPU · 2 GiB · 1 GPU'."""
    slots = ResourceSlots.from_json(amounts)
    parts = [_("%(n)s CPU") % {"n": humanize("cpu", slots["cpu"])}]
    if slots["mem"]:
        parts.append(humanize("mem", slots["mem"]))
    if slots["cuda.device"]:
        parts.append(amount_text("cuda.device", slots["cuda.device"]))
    return " · ".join(parts)


def age(since: datetime, now: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    for size, text in ((86400, _("%(n)d d")), (3600, _("%(n)d h")), (60, _("%(n)d min"))):
        if seconds >= size:
            return text % {"n": seconds // size}
    return _("%(n)d s") % {"n": seconds}


def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def looks() -> dict[str, Any]:
    """How statuses and types show, for the list and the session page alike."""
    return {
        "badges": BADGES,
        "types": {SessionType.BATCH: _("Batch"), SessionType.INTERACTIVE: _("Interactive")},
        "when": when,
    }


def _listing(db: Session, viewer: Viewer, include_finished: bool) -> dict[str, Any]:
    found, total = sessions.list_sessions(db, viewer=viewer.user, include_finished=include_finished)
    now = datetime.now(UTC)
    rows = [Row(s, resources_text(s.resources), age(s.created_at, now)) for s in present(db, found)]
    return {"rows": rows, "total": total, "include_finished": include_finished, **looks()}


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


@router.get("/launcher")
def launcher(request: Request, viewer: CurrentViewer, db: DbDep) -> Response:
    """The START launcher with its defaults; a full page (list + launcher) without htmx."""
    return _launcher_page(request, viewer, db, launcher_context(db, viewer, fresh=True))


@router.post("/launcher")
def launcher_for(
    request: Request, viewer: CurrentViewer, db: DbDep, form: LaunchFormDep
) -> Response:
    """The launcher again for the values so far: another project, group or environment."""
    return _launcher_page(request, viewer, db, launcher_context(db, viewer, form))


@router.post("/check")
def check_page(request: Request, viewer: CurrentViewer, db: DbDep, form: LaunchFormDep) -> Response:
    """Does the request fit now, and if not which limits block it (before submitting)."""
    return render(request, "_fit.html", {"fit": fit_of(db, viewer, form)}, viewer=viewer)


@router.post("")
def create(
    request: Request, viewer: CurrentViewer, db: DbDep, settings: SettingsDep, form: LaunchFormDep
) -> Response:
    """Queue the session and go to its page; a refusal shows the launcher again, filled in."""
    try:
        session = sessions.create_session(db, settings, owner=viewer.user, spec=form.spec())
    except (InvalidInput, NotFound, PermissionDenied, QuotaExceeded) as exc:
        context = launcher_context(db, viewer, form, errors={field_of(exc): exc.message})
        # htmx swaps only 2xx answers; a form submitted without htmx gets the real status.
        code = 200 if is_htmx(request) else status_of(exc)
        return _launcher_page(request, viewer, db, context, status_code=code)
    request.app.state.scheduler.wake()
    target = f"/sessions/{session.id}"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


# A session's page ----------------------------------------------------------------------


@dataclass(frozen=True)
class LogUpdate:
    """What one logs poll brings: new output, where to go on from, and whether to go on."""

    data: str = ""
    offset: int = 0
    trigger: str | None = LOG_POLL  # the next poll's hx-trigger; None stops polling
    note: str = ""
    seen: int = 0  # history entries the page already shows


def read_logs(db: Session, session: ComputeSession, offset: int) -> LogUpdate:
    """Output from `offset` on, read from the session's agent as the API's logs route does."""
    data, next_offset, note = "", offset, ""
    try:
        data, next_offset = sessions.read_output(db, session=session, offset=offset)
    except Conflict as exc:
        note = exc.message
    active = session.status not in FINISHED
    if active:
        trigger: str | None = LOG_POLL
    else:
        trigger = "load" if data else None  # a finished session's output is read to its end
    if not note and next_offset == 0:
        note = _("No output yet.") if active else _("This session wrote no output.")
    return LogUpdate(data=data, offset=next_offset, trigger=trigger, note=note)


def _session_context(db: Session, session: ComputeSession) -> dict[str, Any]:
    shown = present(db, [session])[0]
    return {
        "s": shown,
        "active": shown.status not in FINISHED,
        "resources": resources_text(shown.resources),
        "log_poll": LOG_POLL,
        **looks(),
    }


@router.get("/{ref}")
def session_page(request: Request, viewer: CurrentViewer, db: DbDep, ref: str) -> Response:
    session = sessions.by_name_or_id(db, viewer=viewer.user, ref=ref)
    context = _session_context(db, session)
    return render(request, "session.html", context, viewer=viewer)


@router.get("/{ref}/logs")
def logs(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    ref: str,
    offset: Annotated[int, Query(ge=0)] = 0,
    seen: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """New output to append, the next poll (out of band) and, if it changed, the status."""
    session = sessions.by_name_or_id(db, viewer=viewer.user, ref=ref)
    update = replace(read_logs(db, session, offset), seen=seen)
    context = {"part": "logs", "update": update, **_session_context(db, session)}
    response = render(request, "session.html", context, viewer=viewer)
    if update.data:  # follow new output, but leave a reader alone while nothing comes
        response.headers["HX-Reswap"] = "beforeend scroll:#log-output:bottom"
    return response


@router.post("/{ref}/terminate")
def terminate(request: Request, viewer: CurrentViewer, db: DbDep, ref: str) -> Response:
    found = sessions.by_name_or_id(db, viewer=viewer.user, ref=ref)
    session = sessions.terminate(db, viewer=viewer.user, session_id=found.id)
    request.app.state.notifier.notify([session.agent_id] if session.agent_id else [])
    request.app.state.scheduler.wake()
    return RedirectResponse(f"/sessions/{session.id}", status_code=303)
