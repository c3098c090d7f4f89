"""The console's admin Sessions view (admins only): every user's sessions with the filters in
the URL, paged by cursor; a session's details and the dialog that terminates it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from shipyard.admin import sessions as sessions_admin
from shipyard.admin.sessions import SessionPage
from shipyard.errors import ShipyardError
from shipyard.http.deps import DbDep
from shipyard.i18n import _
from shipyard.validation import NO_NUL
from shipyard.web import kit
from shipyard.web.admin.sessions import view
from shipyard.web.deps import CurrentAdmin, Viewer
from shipyard.web.forms import LongText
from shipyard.web.htmx import render

router = APIRouter(prefix=view.PATH)

Ref = Annotated[str, Query(max_length=254, pattern=NO_NUL)]
Cursor = Annotated[str, Query(max_length=200, pattern=NO_NUL)]
INFO = "admin/_session_info.html"
TERMINATE = "admin/_session_terminate.html"


@router.get("")
def sessions_page(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    user: Ref = "",
    project: Ref = "",
    group: Ref = "",
    agent: Ref = "",
    status: Ref = "",
    after: Cursor = "",
    before: Cursor = "",
) -> HTMLResponse:
    """Every user's sessions, newest first; htmx gets the filters and the list (a refusal
    shows each filter's problem by its field)."""
    filters = view.Filters.read(
        user=user,
        project=project,
        group=group,
        agent=agent,
        status=status,
        after=after,
        before=before,
    )
    return kit.attempt(
        lambda: sessions_admin.list_sessions(db, spec=filters.spec()),
        on_done=lambda page: _page(request, viewer, db, filters, page),
        on_refused=lambda exc: _page(request, viewer, db, filters, view.EMPTY, refused=exc),
    )


def _page(
    request: Request,
    viewer: Viewer,
    db: Session,
    filters: view.Filters,
    page: SessionPage,
    *,
    refused: ShipyardError | None = None,
) -> HTMLResponse:
    projects, groups = sessions_admin.choices(db)
    context = {
        "filters": filters,
        "page": page,
        "rows": view.rows_of(page.sessions),
        "projects": projects,
        "groups": groups,
        "errors": kit.errors_of(refused, view.FIELDS) if refused else {},
        **view.looks(),
    }
    restoring = request.headers.get("hx-history-restore-request") == "true"
    response = render(
        request,
        "admin/sessions.html",
        context,
        viewer=viewer,
        fragment=None if restoring else "admin/_sessions_admin.html",
        status_code=kit.refusal_status(request, refused) if refused else 200,
    )
    if request.headers.get("hx-trigger") != "admin-sessions":  # not a refresh in place
        response.headers["HX-Push-Url"] = filters.here()  # the address without empty fields
    return response


def _info_context(db: Session, session_id: uuid.UUID) -> dict[str, Any]:
    shown = sessions_admin.info(db, session_id)
    return {
        "s": shown,
        "resources": view.resources_text(shown.resources),
        "stoppable": view.stoppable(shown),
        "back": view.PATH,
    }


@router.get("/{session_id}")
def session_info(
    request: Request, viewer: CurrentAdmin, db: DbDep, session_id: uuid.UUID
) -> HTMLResponse:
    """A session's details: status and reason, where it runs, what it asked for, history."""
    return view.DIALOGS.show(request, viewer, INFO, _info_context(db, session_id))


@router.get("/{session_id}/terminate")
def terminate_dialog(
    request: Request, viewer: CurrentAdmin, db: DbDep, session_id: uuid.UUID
) -> HTMLResponse:
    context = {**_info_context(db, session_id), "form": {"reason": ""}}
    return view.DIALOGS.show(request, viewer, TERMINATE, context)


@router.post("/{session_id}/terminate")
def terminate(
    request: Request, viewer: CurrentAdmin, db: DbDep, session_id: uuid.UUID, reason: LongText = ""
) -> Response:
    """End the session with the reason its owner reads; audited."""
    return view.DIALOGS.submit(
        request,
        viewer,
        template=TERMINATE,
        context=lambda: {**_info_context(db, session_id), "form": {"reason": reason}},
        action=lambda: sessions_admin.terminate(db, viewer.user, session_id, reason=reason),
        on_done=lambda ended: kit.done(
            request,
            event=view.CHANGED,
            message=_("Session %(name)s is ending; its owner reads your reason.")
            % {"name": ended.name},
            back=view.PATH,
        ),
    )
