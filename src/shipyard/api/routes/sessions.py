"""Compute sessions: create, check, list, inspect, read logs, terminate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import PlainTextResponse, Response

from shipyard.api.deps import ApiUser
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.resources.schemas import FitReport
from shipyard.sessions import logs as session_logs
from shipyard.sessions import service as sessions
from shipyard.sessions.models import FINISHED
from shipyard.sessions.presenter import present
from shipyard.sessions.schemas import (
    LogChunk,
    SessionCreate,
    SessionPublic,
    SessionsPublic,
)

router = APIRouter(prefix="/sessions", tags=["sessions"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: SessionCreate, user: ApiUser, db: DbDep, settings: SettingsDep) -> SessionPublic:
    """Queue a session; the scheduler places it as soon as the limits and an agent allow."""
    session = sessions.create_session(db, settings, owner=user, spec=body)
    return present(db, [session])[0]


@router.post("/check")
def check(body: SessionCreate, user: ApiUser, db: DbDep) -> FitReport:
    """Would this request be admitted now? If not, which limits block it."""
    return sessions.check_fit(db, user=user, spec=body)


@router.get("")
def list_(
    user: ApiUser,
    db: DbDep,
    all: Annotated[bool, Query(description="include finished sessions")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SessionsPublic:
    rows, total = sessions.list_sessions(
        db, viewer=user, include_finished=all, limit=limit, offset=offset
    )
    return SessionsPublic(data=present(db, rows), count=total)


@router.get("/{ref}")
def info(ref: str, user: ApiUser, db: DbDep) -> SessionPublic:
    return present(db, [sessions.by_name_or_id(db, viewer=user, ref=ref)])[0]


@router.delete("/{ref}")
def terminate(ref: str, user: ApiUser, db: DbDep) -> SessionPublic:
    found = sessions.by_name_or_id(db, viewer=user, ref=ref)
    session = sessions.terminate(db, viewer=user, session_id=found.id)
    return present(db, [session])[0]


@router.get("/{ref}/logs")
def logs(
    ref: str,
    user: ApiUser,
    db: DbDep,
    settings: SettingsDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    plain: Annotated[bool, Query(description="whole lines without terminal control codes")] = False,
) -> LogChunk:
    """Output from `offset` on; `finished` tells a follower when to stop. The manager keeps
    the last part of it (the policy's max_log_size) after the agent has forgotten it."""
    session = sessions.by_name_or_id(db, viewer=user, ref=ref)
    finished = session.status in FINISHED
    read = session_logs.read_output(db, settings, session=session, offset=offset, plain=plain)
    done = finished and not read.data and not read.more
    return LogChunk(data=read.data, offset=read.offset, finished=done)


@router.get("/{ref}/logs.txt", response_class=PlainTextResponse)
def plain_logs(ref: str, user: ApiUser, db: DbDep, settings: SettingsDep) -> Response:
    """Everything kept of the output as a plain-text file, terminal control codes removed."""
    session = sessions.by_name_or_id(db, viewer=user, ref=ref)
    return session_logs.plain_download(db, settings, session=session)
