"""A session's output, kept on the manager so that it outlives the agent's copy.

An agent keeps an ended session's output for 24 hours; the manager keeps its own copy in
the database, at most the last `max_bytes` of it (the owner's policy's max_log_size, else
the site's session_log_mb), with a note where earlier output was dropped. The database and
not a file under the data dir, because several managers may share one PostgreSQL database
and any of them must answer for any session; the rows go with the session's (a foreign key
cascades). Output is kept in chunks as reads from the agent brought them, so appending
never rewrites what is kept.

Output is pulled from the agent by the LogCollector (every running session, and an ended
one until its agent has nothing more) and by every reader before it reads, so a page
follows new output without waiting for the collector. An append moves the header's
`read_to` only from the value its read started at (compare and set), so a manager or
reader that lost a race to the same bytes writes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from fastapi.responses import Response
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shipyard.agents import remote
from shipyard.agents.models import Agent
from shipyard.config import Settings
from shipyard.db import utcnow
from shipyard.errors import Conflict
from shipyard.i18n import _
from shipyard.policies import service as policies
from shipyard.sessions.models import (
    FINISHED,
    ComputeSession,
    SessionLog,
    SessionLogChunk,
)
from shipyard.sessions.plain import plain_text
from shipyard.storage.downloads import disposition
from shipyard.users.models import User

READ_SIZE = 65536  # bytes a reader gets at most per call (the agent's own limit per read)
AGENT_KEEPS = timedelta(hours=25)  # past this an ended session's agent has forgotten it


@dataclass(frozen=True)
class Output:
    """What one read brings: text, the offset to ask for next, and whether more is kept."""

    data: str
    offset: int
    more: bool  # kept bytes beyond `offset` (a reader asks again at once)


def dropped_note() -> str:
    return _("… earlier output dropped") + "\r\n"


# Reading ---------------------------------------------------------------------------------


def read_output(
    db: Session, settings: Settings, *, session: ComputeSession, offset: int, plain: bool = False
) -> Output:
    """The session's output from `offset` on, brought up to date from its agent first.

    Text is cut on a character boundary (the rest comes with the next read); with `plain`
    on a line boundary too, and stripped of terminal control codes. Output before the kept
    part starts with the dropped note. Conflict when the agent cannot be reached and the
    manager has nothing new to give.
    """
    unreachable: Conflict | None = None
    try:
        collect(db, settings, session=session, most=READ_SIZE)
    except Conflict as exc:
        unreachable = exc
    log = db.get(SessionLog, session.id, populate_existing=True)
    if log is None or (offset >= log.read_to and unreachable is not None):
        if unreachable is not None:
            raise unreachable
        return Output("", offset, more=False)
    return _read(db, log, offset=offset, plain=plain)


def _read(db: Session, log: SessionLog, *, offset: int, plain: bool) -> Output:
    start = max(offset, log.kept_from)
    raw = _bytes(db, log.session_id, start=start, most=READ_SIZE)
    keep = utf8_boundary(raw)
    final = log.complete and start + len(raw) == log.read_to
    if plain and not final and b"\n" in raw[:keep]:
        keep = raw.rindex(b"\n", 0, keep) + 1
    text = raw[:keep].decode("utf-8", "replace")
    if offset < log.kept_from:
        text = dropped_note() + text
    if plain:
        text = plain_text(text)
    following = start + keep
    return Output(text, following, more=following < log.read_to)


def _bytes(
    db: Session, session_id: uuid.UUID, *, start: int, most: int, chunks: int | None = 256
) -> bytes:
    """Up to `most` kept bytes from `start` on, from at most `chunks` chunks (None: any)."""
    found = db.scalars(
        select(SessionLogChunk)
        .where(SessionLogChunk.session_id == session_id, SessionLogChunk.stop > start)
        .order_by(SessionLogChunk.start)
        .limit(chunks)
    )
    parts: list[bytes] = []
    size = 0
    for chunk in found:
        part = chunk.data[max(0, start - chunk.start) :][: most - size]
        parts.append(part)
        size += len(part)
        if size >= most:
            break
    return b"".join(parts)


def plain_download(db: Session, settings: Settings, *, session: ComputeSession) -> Response:
    """Everything kept of the session's output as plain text, as a file to save."""
    collect_quietly(db, settings, session=session)
    log = db.get(SessionLog, session.id, populate_existing=True)
    raw = b""
    if log is not None:
        raw = _bytes(db, session.id, start=log.kept_from, most=log.max_bytes, chunks=None)
    text = raw.decode("utf-8", "replace")
    if log is not None and log.kept_from:
        text = dropped_note() + text
    return Response(
        plain_text(text),
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": disposition(f"{session.name}.log.txt"),
            "Cache-Control": "private, no-cache",
        },
    )


def utf8_boundary(raw: bytes) -> int:
    """How many leading bytes of `raw` end on a character boundary."""
    for back in range(1, min(4, len(raw)) + 1):
        byte = raw[-back]
        if byte < 0x80:
            return len(raw)
        if byte >= 0xC0:  # a lead byte: is its sequence complete?
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(raw) if back >= needed else len(raw) - back
    return len(raw)


# Keeping ---------------------------------------------------------------------------------


def collect(db: Session, settings: Settings, *, session: ComputeSession, most: int) -> None:
    """Copy up to `most` new bytes of the session's output from its agent; commits each read.

    Marks the copy complete once an ended session's agent has nothing more (or has long
    forgotten it). Conflict when the agent cannot be reached.
    """
    if session.agent_id is None:
        return
    log = _header(db, settings, session)
    agent = db.get(Agent, session.agent_id)
    pulled = 0
    while not log.complete and agent is not None and pulled < most:
        ended = session.status in FINISHED  # output read after the exit report is final
        data, _next = remote.fetch_logs(agent, session.id, offset=log.read_to)
        if not data:
            if ended or _forgotten(session):
                _complete(db, log)
            return
        if not _append(db, log, data):
            return
        pulled += len(data)
        db.refresh(log)
        db.refresh(session)


def collect_quietly(db: Session, settings: Settings, *, session: ComputeSession) -> None:
    """collect() for a reader of what is kept: an agent out of reach leaves it as it is."""
    try:
        collect(db, settings, session=session, most=settings.session_log_mb * 2**20)
    except Conflict:
        db.rollback()


def _forgotten(session: ComputeSession) -> bool:
    return session.finished_at is not None and utcnow() - session.finished_at > AGENT_KEEPS


def _header(db: Session, settings: Settings, session: ComputeSession) -> SessionLog:
    """The session's log header, made on first use (safe when two make it at once)."""
    found = db.get(SessionLog, session.id, populate_existing=True)
    if found is not None:
        return found
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {"session_id": session.id, "kept_from": 0, "read_to": 0, "complete": False}
    values["max_bytes"] = max_bytes_of(db, settings, owner_id=session.owner_id)
    db.execute(insert(SessionLog).values(values).on_conflict_do_nothing())
    db.commit()
    return db.get_one(SessionLog, session.id, populate_existing=True)


def max_bytes_of(db: Session, settings: Settings, *, owner_id: uuid.UUID) -> int:
    """How much of a session's output the manager keeps: the owner's policy's, else the site's."""
    owner = db.get_one(User, owner_id)
    return policies.policy_of_user(db, owner).max_log_size or settings.session_log_mb * 2**20


def _append(db: Session, log: SessionLog, data: bytes) -> bool:
    """Keep `data` as the bytes from log.read_to on; False when another reader was first."""
    start = log.read_to
    moved = db.execute(
        update(SessionLog)
        .where(SessionLog.session_id == log.session_id, SessionLog.read_to == start)
        .values(read_to=start + len(data))
        .execution_options(synchronize_session=False)
    )
    if not getattr(moved, "rowcount", 0):
        db.rollback()
        return False
    db.add(
        SessionLogChunk(session_id=log.session_id, start=start, stop=start + len(data), data=data)
    )
    db.flush()
    _trim(db, log.session_id, floor=start + len(data) - log.max_bytes, kept_from=log.kept_from)
    db.commit()
    return True


def _trim(db: Session, session_id: uuid.UUID, *, floor: int, kept_from: int) -> None:
    """Drop the bytes before `floor`: whole chunks, and the head of one that straddles it."""
    if floor <= kept_from:
        return
    mine = SessionLogChunk.session_id == session_id
    db.execute(delete(SessionLogChunk).where(mine, SessionLogChunk.stop <= floor))
    straddling = db.scalar(select(SessionLogChunk).where(mine, SessionLogChunk.start < floor))
    if straddling is not None:
        tail = straddling.data[floor - straddling.start :]
        db.delete(straddling)
        db.flush()
        db.add(
            SessionLogChunk(session_id=session_id, start=floor, stop=floor + len(tail), data=tail)
        )
    db.execute(
        update(SessionLog)
        .where(SessionLog.session_id == session_id)
        .values(kept_from=floor)
        .execution_options(synchronize_session=False)
    )


def _complete(db: Session, log: SessionLog) -> None:
    db.execute(
        update(SessionLog)
        .where(SessionLog.session_id == log.session_id)
        .values(complete=True)
        .execution_options(synchronize_session=False)
    )
    db.commit()
    db.refresh(log)


# The collector's round -------------------------------------------------------------------


def due(db: Session, *, limit: int = 500) -> list[ComputeSession]:
    """Sessions whose agent may have output the manager lacks: placed ones that run, and
    ended ones whose copy is not complete yet (while their agent may still have it)."""
    complete = select(SessionLog.session_id).where(SessionLog.complete.is_(True))
    query = (
        select(ComputeSession)
        .where(
            ComputeSession.agent_id.is_not(None),
            ComputeSession.id.not_in(complete),
            ComputeSession.status.not_in(FINISHED)
            | (ComputeSession.finished_at > utcnow() - AGENT_KEEPS),
        )
        .order_by(ComputeSession.status_changed_at)
        .limit(limit)
    )
    return list(db.scalars(query))


def collect_due(db: Session, settings: Settings) -> int:
    """One collector round: pull from every due session's agent; returns how many answered.

    An agent out of reach is skipped for the rest of the round (and tried again next time).
    """
    answered = 0
    unreachable: set[str] = set()
    for session in due(db):
        if session.agent_id in unreachable:
            continue
        try:
            collect(db, settings, session=session, most=settings.session_log_mb * 2**20)
            answered += 1
        except Conflict:
            db.rollback()
            unreachable.add(str(session.agent_id))
    return answered
