"""Creating, listing and ending sessions, and applying what agents report about them."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from shipyard.agents.models import Agent
from shipyard.agents.schemas import SessionReport
from shipyard.config import Settings
from shipyard.db import utcnow
from shipyard.environments import service as environments
from shipyard.environments.models import Environment
from shipyard.errors import InvalidInput, NotFound, QuotaExceeded
from shipyard.i18n import _
from shipyard.policies.models import OnQuota
from shipyard.resources import quota as rules
from shipyard.resources.ledger import Held
from shipyard.resources.schemas import FitReport
from shipyard.resources.slots import ResourceSlots
from shipyard.sessions import effects, lifecycle, quota
from shipyard.sessions.models import (
    FINISHED,
    OCCUPYING,
    ComputeSession,
    SessionStatus,
    SessionType,
)
from shipyard.sessions.placement import Placement, resolve_placement
from shipyard.sessions.schemas import SessionCreate
from shipyard.storage import homes
from shipyard.storage.mounts import resolve_mounts
from shipyard.users.models import User


def check_fit(db: Session, *, user: User, spec: SessionCreate) -> FitReport:
    """What the launcher shows before submitting: does it fit now, and what blocks it."""
    where = resolve_placement(
        db, user=user, project=spec.project, group=spec.resource_group, resources=spec.resources
    )
    state = quota.standing(db, user=user, project=where.project, group=where.group)
    return quota.check(state, where.request)


def create_session(
    db: Session, settings: Settings, *, owner: User, spec: SessionCreate
) -> ComputeSession:
    """A new PENDING session, or a clear refusal; nothing is allocated here (the scheduler does,
    woken once this commits).

    The owner's row is locked first, so one user's concurrent requests are checked against
    the pending and quota limits one after another (a row lock on PostgreSQL, the write lock
    on SQLite). The folders it mounts are resolved in the same transaction, all or none.
    The owner's home is made first, in a transaction of its own, if this is their first use.
    """
    homes.ensure(db, settings, user=owner)
    db.execute(update(User).where(User.id == owner.id).values(email=User.email))
    env = environments.usable(db, spec.environment)
    command = _command(env, spec)
    where = resolve_placement(
        db, user=owner, project=spec.project, group=spec.resource_group, resources=spec.resources
    )
    mounts = resolve_mounts(db, settings, user=owner, project=where.project, refs=list(spec.mounts))
    state = quota.standing(db, user=owner, project=where.project, group=where.group)
    _refuse_impossible(db, where)
    _refuse_over_quota(state, where.request, admitted=_admitted(db, owner))
    session = ComputeSession(
        name=spec.name or f"s-{secrets.token_hex(3)}",
        owner_id=owner.id,
        project_id=where.project.id,
        resource_group_id=where.group.id,
        environment_id=env.id,
        type=spec.type,
        command=command,
        requested=where.request.to_json(),
        mounts=mounts,
        max_lifetime=state.user_policy.max_session_lifetime,
        idle_timeout=state.user_policy.idle_timeout,
        status=SessionStatus.PENDING,
        status_info=_("Waiting to be scheduled."),
    )
    session.history = [
        {"status": "PENDING", "at": utcnow().isoformat(), "reason": session.status_info}
    ]
    db.add(session)
    effects.wake_scheduler(db)
    db.commit()
    return session


def _command(env: Environment, spec: SessionCreate) -> str:
    if spec.type is SessionType.BATCH:
        if not spec.command.strip():
            raise InvalidInput(_("A batch session needs a command."), details={"field": "command"})
        return spec.command
    if environments.TERMINAL not in env.apps:
        raise InvalidInput(_("This environment offers no terminal."), details={"field": "type"})
    return ""


def _refuse_impossible(db: Session, where: Placement) -> None:
    """A request larger than every agent of the group could ever hold is refused at once."""
    capacities = [
        agent.capacity_slots
        for agent in db.scalars(select(Agent).where(Agent.resource_group_id == where.group.id))
    ]
    if not capacities:
        raise InvalidInput(
            _("No agent has joined resource group %(name)s yet.") % {"name": where.group.name},
            details={"field": "resource_group"},
        )
    if not any(where.request.fits_in(capacity) for capacity in capacities):
        raise InvalidInput(
            _("No agent in resource group %(name)s is large enough for this request.")
            % {"name": where.group.name},
            details={"field": "resources"},
        )


def _admitted(db: Session, owner: User) -> Held:
    """The owner's PENDING sessions: admitted already, they hold nothing in the ledger yet."""
    requests = db.scalars(
        select(ComputeSession.requested).where(
            ComputeSession.owner_id == owner.id, ComputeSession.status == SessionStatus.PENDING
        )
    ).all()
    slots = sum((ResourceSlots.from_json(request) for request in requests), ResourceSlots())
    return Held(slots, len(requests))


def _refuse_over_quota(state: quota.Standing, request: ResourceSlots, *, admitted: Held) -> None:
    """Refuse what the pending limit or, under a `refuse` policy, the quota does not allow.

    Under `refuse` the owner's pending sessions count as held: each was admitted against
    the quota, so twenty quick requests under a limit of three admit three, not twenty.
    """
    policy = state.user_policy
    if rules.pending_full(policy.quota, state.pending):
        raise QuotaExceeded(rules.pending_message(state.pending), details={"limit": "pending"})
    if policy.on_quota is OnQuota.QUEUE:
        return
    blocks = rules.quota_blocks(
        request,
        user=policy.quota,
        project=state.project_policy.quota,
        user_held=_plus(state.user_held, admitted),
        project_held=_plus(state.project_held, admitted),
    )
    if blocks:
        raise QuotaExceeded(
            blocks[0].message,
            details={"blocked_by": [block.model_dump() for block in blocks]},
        )


def _plus(held: Held, more: Held) -> Held:
    return Held(held.slots + more.slots, held.sessions + more.sessions)


def visible(db: Session, *, viewer: User, session_id: uuid.UUID) -> ComputeSession:
    """A session the viewer may see (their own; admins see all), else NotFound."""
    session = db.get(ComputeSession, session_id)
    if session is None or (session.owner_id != viewer.id and not viewer.is_admin):
        raise NotFound(_("No such session."))
    return session


def by_name_or_id(db: Session, *, viewer: User, ref: str) -> ComputeSession:
    try:
        return visible(db, viewer=viewer, session_id=uuid.UUID(ref))
    except ValueError:
        pass
    found = db.scalars(
        select(ComputeSession)
        .where(ComputeSession.owner_id == viewer.id, ComputeSession.name == ref)
        .order_by(ComputeSession.created_at.desc())
    ).first()
    if found is None:
        raise NotFound(_("No such session."))
    return found


def list_sessions(
    db: Session, *, viewer: User, include_finished: bool, limit: int = 100, offset: int = 0
) -> tuple[list[ComputeSession], int]:
    """The viewer's sessions, newest first, and how many there are in all."""
    query = select(ComputeSession).where(ComputeSession.owner_id == viewer.id)
    if not include_finished:
        query = query.where(ComputeSession.status.not_in(FINISHED))
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(query.order_by(ComputeSession.created_at.desc()).limit(limit).offset(offset))
    return list(rows), total


def terminate(db: Session, *, viewer: User, session_id: uuid.UUID) -> ComputeSession:
    """End a session: a pending one is cancelled, a running one asked to stop. Idempotent."""
    session = visible(db, viewer=viewer, session_id=session_id)
    if session.status is SessionStatus.PENDING:
        lifecycle.move(db, session, SessionStatus.CANCELLED, _("Cancelled by the user."))
    elif session.status in OCCUPYING and session.status is not SessionStatus.TERMINATING:
        lifecycle.move(db, session, SessionStatus.TERMINATING, _("Terminated by the user."))
    db.commit()
    return session


def end_sessions_of_user(db: Session, user: User, *, reason: str) -> int:
    """Cancel the user's pending sessions and ask their running ones to stop (no commit).

    The ledger and the agents' desired state change with each move, in db's transaction.
    Returns how many sessions were ended or asked to end.
    """
    mine = db.scalars(select(ComputeSession).where(*_to_end(user)))
    ended = 0
    for session in mine:
        target = (
            SessionStatus.CANCELLED
            if session.status is SessionStatus.PENDING
            else SessionStatus.TERMINATING
        )
        ended += lifecycle.move(db, session, target, reason)
    return ended


def _to_end(user: User) -> tuple[ColumnElement[bool], ...]:
    """The user's sessions that ending their access ends: waiting, or running and not stopping."""
    return (
        ComputeSession.owner_id == user.id,
        ComputeSession.status.in_(OCCUPYING | {SessionStatus.PENDING}),
        ComputeSession.status != SessionStatus.TERMINATING,
    )


def sessions_to_end(db: Session, user: User) -> tuple[int, int]:
    """How many of the user's sessions end_sessions_of_user would stop and cancel, now:
    (running, waiting), for a confirmation to say before it happens."""
    rows = db.execute(
        select(ComputeSession.status, func.count())
        .where(*_to_end(user))
        .group_by(ComputeSession.status)
    )
    counts: dict[SessionStatus, int] = dict(rows.all())
    waiting = counts.pop(SessionStatus.PENDING, 0)
    return sum(counts.values()), waiting


def apply_reports(db: Session, *, agent: Agent, reports: Iterable[SessionReport]) -> int:
    """Bring session statuses in line with what the agent says actually runs.

    Returns how many sessions ended (their resources are free for the scheduler again).
    """
    reported = {report.session_id: report for report in reports}
    mine = db.scalars(
        select(ComputeSession).where(
            ComputeSession.agent_id == agent.id, ComputeSession.status.in_(OCCUPYING)
        )
    )
    ended = 0
    for session in mine:
        report = reported.get(session.id)
        if report is None:
            _missing(db, session)
        elif report.pulling is not None and not report.running:
            _pulling(session, report.pulling.done, report.pulling.total)
        elif report.running:
            if session.status in (SessionStatus.SCHEDULED, SessionStatus.PREPARING):
                lifecycle.move(db, session, SessionStatus.RUNNING, _("Running."))
        else:
            _exited(db, session, report)
        ended += session.status in FINISHED
    return ended


def _pulling(session: ComputeSession, done: int, total: int) -> None:
    """The agent is still fetching the session's image: its status text says how far."""
    if session.status is not SessionStatus.PREPARING:
        return
    text = _("Pulling %(done)s of %(total)s MB.") % {
        "done": done // 10**6,
        "total": -(-max(total, done) // 10**6),
    }
    if session.status_info != text:
        session.status_info = text


def _missing(db: Session, session: ComputeSession) -> None:
    if session.status is SessionStatus.TERMINATING:
        lifecycle.move(db, session, SessionStatus.TERMINATED, session.status_info)
    elif session.status is SessionStatus.RUNNING:
        lifecycle.move(db, session, SessionStatus.ERROR, _("The agent no longer runs it."))


def _exited(db: Session, session: ComputeSession, report: SessionReport) -> None:
    code = report.exit_code
    if session.status is SessionStatus.TERMINATING:
        lifecycle.move(db, session, SessionStatus.TERMINATED, session.status_info, exit_code=code)
    elif report.oom_killed:
        lifecycle.move(db, session, SessionStatus.ERROR, _("out of memory"), exit_code=code)
    elif report.error:
        lifecycle.move(db, session, SessionStatus.ERROR, report.error, exit_code=code)
    elif code == 0 or session.type is SessionType.INTERACTIVE:
        lifecycle.move(db, session, SessionStatus.TERMINATED, _("Finished."), exit_code=code)
    else:
        reason = _("Exited with code %(code)s.") % {"code": code}
        lifecycle.move(db, session, SessionStatus.ERROR, reason, exit_code=code)


def end_sessions_of_lost(db: Session, agent: Agent) -> int:
    """The agent is gone: its sessions end with a reason and give their resources back."""
    sessions = list(
        db.scalars(
            select(ComputeSession).where(
                ComputeSession.agent_id == agent.id, ComputeSession.status.in_(OCCUPYING)
            )
        )
    )
    for session in sessions:
        lifecycle.move(db, session, SessionStatus.ERROR, _("The agent was lost."))
    return len(sessions)


def expire(db: Session) -> int:
    """Sessions past their maximum lifetime, or idle past their idle timeout, are stopped.

    Idle means no terminal input (interactive sessions) since last_activity_at.
    """
    now = utcnow()
    count = 0
    running = db.scalars(
        select(ComputeSession).where(
            ComputeSession.status == SessionStatus.RUNNING,
            ComputeSession.max_lifetime.is_not(None) | ComputeSession.idle_timeout.is_not(None),
        )
    )
    for session in running:
        reason = _expiry(session, now)
        if reason:
            lifecycle.move(db, session, SessionStatus.TERMINATING, reason)
            count += 1
    return count


def _expiry(session: ComputeSession, now: datetime) -> str | None:
    started = session.started_at or session.created_at
    if session.max_lifetime is not None and now - started >= timedelta(
        seconds=session.max_lifetime
    ):
        return _("Maximum lifetime reached.")
    active = session.last_activity_at or started
    if (
        session.idle_timeout is not None
        and session.type is SessionType.INTERACTIVE
        and now - active >= timedelta(seconds=session.idle_timeout)
    ):
        return _("Idle for too long.")
    return None
