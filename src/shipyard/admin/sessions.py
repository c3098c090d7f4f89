"""Every user's sessions for administrators: the filtered keyset list, one session, terminate.

The list is newest first and paged by a cursor (the last row's creation time and id), never
by OFFSET, so the 2,000th page costs what the first does; the total is counted up to
COUNT_CAP. Any administrator sees every session; ending another administrator's session is a
superadmin's (as changing them is, users.rules). A termination goes through the lifecycle
(ledger and agents in the same transaction, agents woken after commit) with its audit entry,
and its reason is what the owner reads as the session's status.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from shipyard.agents.models import Agent, ResourceGroup
from shipyard.audit.models import Action
from shipyard.audit.service import record
from shipyard.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shipyard.i18n import _
from shipyard.projects.models import Project
from shipyard.sessions import lifecycle, presenter
from shipyard.sessions.admin_schemas import MAX_REASON
from shipyard.sessions.models import ComputeSession, SessionStatus
from shipyard.sessions.schemas import SessionPublic
from shipyard.users.models import Role, User
from shipyard.users.service import normalise_email

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
COUNT_CAP = 1_000
MAX_REF = 254
NEWEST_FIRST = (ComputeSession.created_at.desc(), ComputeSession.id.desc())
OLDEST_FIRST = (ComputeSession.created_at.asc(), ComputeSession.id.asc())
Key = tuple[datetime, uuid.UUID]


@dataclass(frozen=True)
class SessionFilter:
    """The list's filters as given (a user's email or id, a project's or group's name or id,
    an agent's id, a status) and where the page starts: `after` or `before` a cursor."""

    user: str = ""
    project: str = ""
    group: str = ""
    agent: str = ""
    status: str = ""
    after: str = ""
    before: str = ""
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class SessionPage:
    sessions: list[SessionPublic]
    total: int  # counted up to COUNT_CAP
    more: bool  # more than `total` match
    next: str | None  # cursor of the older page
    previous: str | None  # cursor of the newer page


# Cursors -------------------------------------------------------------------------------------


def cursor_of(session: ComputeSession) -> str:
    """An opaque page cursor: the row's creation time and id."""
    raw = f"{session.created_at.isoformat()}|{session.id.hex}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _key(cursor: str) -> Key:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _sep, hex_id = raw.partition("|")
        key = (datetime.fromisoformat(when), uuid.UUID(hex=hex_id))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = None
    if key is None or key[0].tzinfo is None:
        raise InvalidInput(
            _("This page link is not valid; start again from the first page."),
            details={"field": "cursor"},
        )
    return key


# Filters -------------------------------------------------------------------------------------


LOOKUPS: dict[
    str, tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any], InstrumentedAttribute[Any]]
] = {
    "user": (ComputeSession.owner_id, User.id, User.email),
    "project": (ComputeSession.project_id, Project.id, Project.name),
    "group": (ComputeSession.resource_group_id, ResourceGroup.id, ResourceGroup.name),
    "agent": (ComputeSession.agent_id, Agent.id, Agent.id),
}


def _missing(field: str, ref: str) -> str:
    messages = {
        "user": _("No user has the email or id %(ref)s."),
        "project": _("No project is called %(ref)s."),
        "group": _("No resource group is called %(ref)s."),
        "agent": _("No agent is called %(ref)s."),
    }
    return messages[field] % {"ref": ref}


def _found(
    db: Session, key: InstrumentedAttribute[Any], label: InstrumentedAttribute[Any], ref: str
) -> Any:
    """The key of the row whose id or label is `ref`, else None."""
    if label is User.email:
        ref = normalise_email(ref)
    try:
        as_id = uuid.UUID(ref) if key is not label else None
    except ValueError:
        as_id = None
    return db.scalar(select(key).where(key == as_id if as_id else label == ref))


def _status(text: str) -> SessionStatus | None:
    wanted = text.strip().upper()
    return SessionStatus(wanted) if wanted in SessionStatus.__members__ else None


def _conditions(db: Session, spec: SessionFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a filter; InvalidInput naming every field that names nothing."""
    found: list[ColumnElement[bool]] = []
    problems: dict[str, str] = {}
    for field, (column, key, label) in LOOKUPS.items():
        ref = getattr(spec, field).strip()[:MAX_REF]
        wanted = _found(db, key, label, ref) if ref else None
        if ref and wanted is None:
            problems[field] = _missing(field, ref)
        elif ref:
            found.append(column == wanted)
    status = _status(spec.status)
    if status is not None:
        found.append(ComputeSession.status == status)
    elif spec.status.strip():
        message = _("No session status is called %(ref)s; choose one of %(all)s.")
        known = ", ".join(each.value for each in SessionStatus)
        problems["status"] = message % {"ref": spec.status.strip()[:MAX_REF], "all": known}
    if problems:
        raise InvalidInput(next(iter(problems.values())), details={"fields": problems})
    return found


def choices(db: Session) -> tuple[list[str], list[str]]:
    """Project and resource group names by name, for the filter's lists."""
    projects = db.scalars(select(Project.name).order_by(Project.name))
    groups = db.scalars(select(ResourceGroup.name).order_by(ResourceGroup.name))
    return list(projects), list(groups)


# The list ------------------------------------------------------------------------------------


def list_sessions(db: Session, *, spec: SessionFilter) -> SessionPage:
    """One page of matching sessions, newest first, in a constant number of statements
    whatever the data size or the page (lookups of the filter, count, page, names)."""
    if spec.after and spec.before:
        raise InvalidInput(
            _("Give a page cursor after or before, not both."), details={"field": "cursor"}
        )
    limit = max(1, min(spec.limit, MAX_PAGE_SIZE))
    where = _conditions(db, spec)
    rows, newer, older = _page(db, select(ComputeSession).where(*where), spec=spec, limit=limit)
    total = _count(db, where)
    return SessionPage(
        sessions=presenter.present(db, rows),
        total=min(total, COUNT_CAP),
        more=total > COUNT_CAP,
        next=cursor_of(rows[-1]) if rows and older else None,
        previous=cursor_of(rows[0]) if rows and newer else None,
    )


def _page(
    db: Session, query: Select[ComputeSession], *, spec: SessionFilter, limit: int
) -> tuple[list[ComputeSession], bool, bool]:
    """The page's rows (newest first) and whether newer and older rows lie beyond it."""
    row_key = tuple_(ComputeSession.created_at, ComputeSession.id)
    if spec.before:
        query = query.where(row_key > _key(spec.before)).order_by(*OLDEST_FIRST)
        rows = list(db.scalars(query.limit(limit + 1)))
        return list(reversed(rows[:limit])), len(rows) > limit, True
    if spec.after:
        query = query.where(row_key < _key(spec.after))
    rows = list(db.scalars(query.order_by(*NEWEST_FIRST).limit(limit + 1)))
    return rows[:limit], bool(spec.after), len(rows) > limit


def _count(db: Session, where: list[ColumnElement[bool]]) -> int:
    """How many match, counting no further than one past COUNT_CAP."""
    capped = select(ComputeSession.id).where(*where).limit(COUNT_CAP + 1).subquery()
    return db.scalar(select(func.count()).select_from(capped)) or 0


# One session ---------------------------------------------------------------------------------


def _session(db: Session, session_id: uuid.UUID) -> ComputeSession:
    session = db.get(ComputeSession, session_id)
    if session is None:
        raise NotFound(_("No such session."))
    return session


def info(db: Session, session_id: uuid.UUID) -> SessionPublic:
    """Any user's session, as its owner sees it."""
    return presenter.present(db, [_session(db, session_id)])[0]


# Terminate -----------------------------------------------------------------------------------


def _reason(text: str) -> str:
    reason = " ".join(text.split())
    if not reason:
        raise InvalidInput(
            _("Say why the session ends; its owner reads the reason."), details={"field": "reason"}
        )
    if len(reason) > MAX_REASON:
        raise InvalidInput(
            _("Keep the reason to %(max)s characters.") % {"max": MAX_REASON},
            details={"field": "reason"},
        )
    return reason


def _check_may_end(admin: User, owner: User) -> None:
    """Another administrator's session is a superadmin's to end."""
    if owner.is_admin and owner.id != admin.id and admin.role is not Role.SUPERADMIN:
        raise PermissionDenied(_("Only a superadmin may end another administrator's session."))


def terminate(db: Session, admin: User, session_id: uuid.UUID, *, reason: str) -> ComputeSession:
    """Cancel a pending session or ask a running one to stop, with the reason its owner reads
    ("Terminated by an administrator: ..."); audited. Conflict when it is already ending."""
    why = _reason(reason)
    session = _session(db, session_id)
    owner = db.get(User, session.owner_id)
    if owner is not None:
        _check_may_end(admin, owner)
    previous = session.status
    if previous is SessionStatus.PENDING:
        shown = _("Cancelled by an administrator: %(reason)s") % {"reason": why}
        moved = lifecycle.move(db, session, SessionStatus.CANCELLED, shown[:255])
    else:
        shown = _("Terminated by an administrator: %(reason)s") % {"reason": why}
        moved = lifecycle.move(db, session, SessionStatus.TERMINATING, shown[:255])
    if not moved:
        raise Conflict(_("This session has already ended or is ending."))
    record(
        db,
        Action.SESSION_TERMINATE,
        actor=admin,
        target_type="session",
        target_id=session.id,
        target_label=f"{session.name} ({owner.email if owner else ''})",
        details={"reason": why, "status": previous.value, "owner": owner.email if owner else ""},
    )
    db.commit()
    return session
