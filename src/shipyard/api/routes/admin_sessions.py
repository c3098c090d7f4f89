"""Every user's sessions through the API (admins only): the filtered list, one, terminate."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from shipyard.admin import sessions as sessions_admin
from shipyard.api.deps import AdminUser, require_admin
from shipyard.http.deps import DbDep
from shipyard.sessions import presenter
from shipyard.sessions.admin_schemas import AdminSessionsPublic, TerminateIn
from shipyard.sessions.schemas import SessionPublic
from shipyard.validation import NO_NUL

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


@router.get("/sessions")
def list_sessions(
    db: DbDep,
    user: Annotated[str, Query(max_length=254, pattern=NO_NUL, description="email or id")] = "",
    project: Annotated[str, Query(max_length=254, pattern=NO_NUL, description="name or id")] = "",
    group: Annotated[
        str, Query(max_length=254, pattern=NO_NUL, description="resource group name or id")
    ] = "",
    agent: Annotated[str, Query(max_length=254, pattern=NO_NUL, description="agent id")] = "",
    status: Annotated[str, Query(max_length=32, pattern=NO_NUL, description="e.g. RUNNING")] = "",
    after: Annotated[str, Query(max_length=200, pattern=NO_NUL, description="`next`")] = "",
    before: Annotated[str, Query(max_length=200, pattern=NO_NUL, description="`previous`")] = "",
    limit: Annotated[int, Query(ge=1, le=sessions_admin.MAX_PAGE_SIZE)] = sessions_admin.PAGE_SIZE,
) -> AdminSessionsPublic:
    """Every user's sessions, newest first, filtered; page on with the `next` cursor."""
    spec = sessions_admin.SessionFilter(
        user=user,
        project=project,
        group=group,
        agent=agent,
        status=status,
        after=after,
        before=before,
        limit=limit,
    )
    page = sessions_admin.list_sessions(db, spec=spec)
    return AdminSessionsPublic(
        data=page.sessions,
        count=page.total,
        more=page.more,
        next=page.next,
        previous=page.previous,
    )


@router.get("/sessions/{session_id}")
def session_info(session_id: uuid.UUID, db: DbDep) -> SessionPublic:
    return sessions_admin.info(db, session_id)


@router.post("/sessions/{session_id}/terminate")
def terminate_session(
    session_id: uuid.UUID, body: TerminateIn, admin: AdminUser, db: DbDep
) -> SessionPublic:
    """End any user's session with a reason its owner reads; audited."""
    ended = sessions_admin.terminate(db, admin, session_id, reason=body.reason)
    return presenter.present(db, [ended])[0]
