"""The Summary page's figures, all from the one ledger (DESIGN §4) and a few SQL sums.

Each function runs a constant number of statements whatever the data size: the ledger rows
of the scopes shown, and the agents' numeric capacity and use columns summed in SQL.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from shipyard.agents import service as agents
from shipyard.agents.models import Agent, AgentStatus, ResourceGroup
from shipyard.errors import NotFound
from shipyard.i18n import _
from shipyard.policies import service as policies
from shipyard.policies.models import ResourcePolicy
from shipyard.projects import service as projects
from shipyard.projects.models import Project
from shipyard.resources import quota as rules
from shipyard.resources.ledger import EMPTY, Held
from shipyard.resources.models import SESSIONS_SLOT, Scope, Usage
from shipyard.resources.slots import UNLIMITED, ZERO, Limits, ResourceSlots, from_units, slot_label
from shipyard.sessions.models import FINISHED, ComputeSession, SessionStatus
from shipyard.summary.figures import (
    Gauge,
    ResourceStatistics,
    SlotFigures,
    SystemResources,
    Utilised,
)
from shipyard.users.models import User

SLOTS = ("cpu", "mem", "cuda.device")
ALWAYS_SHOWN = ("cpu", "mem")  # GPUs appear only where some agent has one or a limit names it
_CAPACITY = {
    "cpu": Agent.cpu_capacity,
    "mem": Agent.mem_capacity,
    "cuda.device": Agent.gpu_capacity,
}
_USED = {"cpu": Agent.cpu_used, "mem": Agent.mem_used, "cuda.device": Agent.gpu_used}
GPU_PERCENT = 100  # gpu_used is in percent points of one device
UNFINISHED = sorted(set(SessionStatus) - FINISHED)  # IN, not NOT IN: the status index serves it


def resource_statistics(
    db: Session,
    *,
    user: User,
    project: Project | None,
    group_name: str | None,
    strict: bool = False,
) -> ResourceStatistics:
    """The user's, the group's and the project's figures in `project` and the group named
    `group_name` (one the project may use; else its first, by name). With `strict`, a named
    group the project may not use is NotFound instead."""
    if project is None:
        return _no_project(db, user)
    groups = agents.groups_of_project(db, project.id)
    group = next((g for g in groups if g.name == group_name), None)
    if group is None and group_name and strict:
        raise NotFound(_("No such resource group: %(name)s.") % {"name": group_name})
    group = group or (groups[0] if groups else None)
    held = _held(db, user=user, project=project, group=group)
    user_policy = policies.policy_of_user(db, user)
    project_policy = policies.policy_of_project(db, project)
    project_limits = project_policy.limits
    capacity, largest = _group_capacity(db, group) if group else ({}, ResourceSlots())
    rooms = rules.room(
        user=user_policy.quota,
        project=project_policy.quota,
        user_held=_as_held(held.get((Scope.USER, str(user.id)))),
        project_held=_as_held(held.get((Scope.PROJECT, str(project.id)))),
        largest=largest,
        pending=_pending_of(db, user.id),
    )
    slots = [
        _slot_figures(
            slot,
            held=held,
            keys=(str(user.id), str(project.id), str(group.id) if group else ""),
            limits=(user_policy.limits, project_limits),
            capacity=capacity.get(slot, ZERO),
            room=rooms[slot],
        )
        for slot in SLOTS
        if _shown(slot, user_policy.limits, project_limits, capacity)
    ]
    return ResourceStatistics(
        project=project.name,
        project_id=str(project.id),
        groups=[g.name for g in groups],
        group=group.name if group else None,
        slots=slots if group else [],
        sessions=_sessions_gauge(held.get((Scope.USER, str(user.id)), {}), user_policy),
    )


def project_of(db: Session, *, user: User, ref: str | None) -> Project | None:
    """The user's project named or numbered `ref`, or their current one when `ref` is empty;
    NotFound for a project they are not a member of (its existence is not revealed)."""
    mine = projects.projects_of(db, user)
    if not ref:
        return projects.current_project(mine, user)
    for project in mine:
        if ref in (str(project.id), project.name):
            return project
    raise NotFound(_("No such project."))


def _no_project(db: Session, user: User) -> ResourceStatistics:
    held = _held(db, user=user, project=None, group=None)
    policy = policies.policy_of_user(db, user)
    gauge = _sessions_gauge(held.get((Scope.USER, str(user.id)), {}), policy)
    return ResourceStatistics(
        project=None, project_id=None, groups=[], group=None, slots=[], sessions=gauge
    )


Amounts = dict[tuple[Scope, str], dict[str, int]]


def _held(
    db: Session, *, user: User, project: Project | None, group: ResourceGroup | None
) -> Amounts:
    """The ledger rows of the user, the project and the group, in one statement."""
    wanted = [(Scope.USER, str(user.id))]
    if project is not None:
        wanted.append((Scope.PROJECT, str(project.id)))
    if group is not None:
        wanted.append((Scope.GROUP, str(group.id)))
    clauses = [and_(Usage.scope == scope, Usage.scope_id == key) for scope, key in wanted]
    rows = db.execute(
        select(Usage.scope, Usage.scope_id, Usage.slot, Usage.amount).where(or_(*clauses))
    )
    amounts: Amounts = defaultdict(dict)
    for row in rows:
        amounts[Scope(row.scope), row.scope_id][row.slot] = row.amount
    return amounts


def _as_held(units: dict[str, int] | None) -> Held:
    """A scope's ledger row (storage units) as the quota rules read it."""
    if not units:
        return EMPTY
    slots = {slot: from_units(slot, amount) for slot, amount in units.items() if slot in SLOTS}
    return Held(ResourceSlots(slots), units.get(SESSIONS_SLOT, 0))


def _group_capacity(db: Session, group: ResourceGroup) -> tuple[dict[str, Decimal], ResourceSlots]:
    """What the group's live schedulable agents offer in all, and the most free on any one
    of them (capacity less its ledger row), per slot, in one SQL statement."""
    held = {slot: aliased(Usage) for slot in _CAPACITY}
    free = [
        func.coalesce(func.max(column - func.coalesce(held[slot].amount, 0)), 0)
        for slot, column in _CAPACITY.items()
    ]
    query = select(
        *(func.coalesce(func.sum(column), 0) for column in _CAPACITY.values()), *free
    ).select_from(Agent)
    for slot, usage in held.items():
        query = query.outerjoin(
            usage,
            and_(usage.scope == Scope.AGENT, usage.scope_id == Agent.id, usage.slot == slot),
        )
    row = db.execute(
        query.where(
            Agent.resource_group_id == group.id,
            Agent.status == AgentStatus.ALIVE,
            Agent.schedulable.is_(True),
        )
    ).one()
    total, most = row[: len(_CAPACITY)], row[len(_CAPACITY) :]
    capacity = {slot: from_units(slot, int(v)) for slot, v in zip(_CAPACITY, total, strict=True)}
    largest = {
        slot: max(ZERO, from_units(slot, int(v))) for slot, v in zip(_CAPACITY, most, strict=True)
    }
    return capacity, ResourceSlots(largest)


def _pending_of(db: Session, owner: uuid.UUID) -> int:
    """The owner's PENDING sessions, which the pending limit counts."""
    query = select(func.count()).select_from(ComputeSession)
    return int(
        db.scalar(
            query.where(
                ComputeSession.owner_id == owner, ComputeSession.status == SessionStatus.PENDING
            )
        )
        or 0
    )


def _shown(slot: str, user: Limits, project: Limits, capacity: dict[str, Decimal]) -> bool:
    limited = not user.is_unlimited(slot) or not project.is_unlimited(slot)
    return slot in ALWAYS_SHOWN or limited or capacity.get(slot, ZERO) > ZERO


def _slot_figures(
    slot: str,
    *,
    held: Amounts,
    keys: tuple[str, str, str],
    limits: tuple[Limits, Limits],
    capacity: Decimal,
    room: rules.Room,
) -> SlotFigures:
    user_id, project_id, group_id = keys
    used = {
        scope: from_units(slot, held.get((scope, key), {}).get(slot, 0))
        for scope, key in (
            (Scope.USER, user_id),
            (Scope.PROJECT, project_id),
            (Scope.GROUP, group_id),
        )
    }
    user_limit, project_limit = limits
    return SlotFigures(
        slot=slot,
        label=slot_label(slot),
        user=Gauge(slot, used[Scope.USER], user_limit[slot]),
        group=Gauge(slot, used[Scope.GROUP], capacity),
        project=Gauge(slot, used[Scope.PROJECT], project_limit[slot]),
        remaining=room.amount,
        bound=room.bound,
    )


def _sessions_gauge(units: dict[str, int], policy: ResourcePolicy) -> Gauge:
    cap = policy.max_concurrent_sessions
    total = UNLIMITED if cap is None else Decimal(cap)
    return Gauge(SESSIONS_SLOT, Decimal(units.get(SESSIONS_SLOT, 0)), total)


def system_resources(db: Session, *, user: User) -> SystemResources:
    """Admins: live agents, every unfinished session, reserved and used against capacity.
    Anyone else: only the number of their own unfinished sessions."""
    if not user.is_admin:
        return SystemResources(admin=False, sessions=_unfinished_of(db, user.id))
    row = db.execute(
        select(
            func.count(),
            *(func.coalesce(func.sum(column), 0) for column in _CAPACITY.values()),
            *(func.coalesce(func.sum(column), 0) for column in _USED.values()),
        ).where(Agent.status == AgentStatus.ALIVE)
    ).one()
    count, figures = int(row[0]), [int(value) for value in row[1:]]
    reserved = _reserved(db)
    slots = [
        _utilised(slot, capacity=figures[i], used=figures[i + len(SLOTS)], reserved=reserved)
        for i, slot in enumerate(SLOTS)
        if slot in ALWAYS_SHOWN or figures[i] or reserved.get(slot)
    ]
    sessions = reserved.get(SESSIONS_SLOT, 0) + _pending(db)
    return SystemResources(admin=True, sessions=sessions, agents=count, slots=slots)


def _reserved(db: Session) -> dict[str, int]:
    """What occupying sessions hold, and how many there are, summed per slot in SQL.

    The ledger's group rows: every occupying session sits on an agent of its group, so these
    equal the agents' rows summed (the consistency test proves it) at a few rows per group."""
    rows = db.execute(
        select(Usage.slot, func.sum(Usage.amount))
        .where(Usage.scope == Scope.GROUP, Usage.slot.in_((*SLOTS, SESSIONS_SLOT)))
        .group_by(Usage.slot)
    )
    return {row[0]: int(row[1] or 0) for row in rows}


def _pending(db: Session) -> int:
    """Unfinished sessions the ledger does not count yet (the status index serves it)."""
    query = select(func.count()).select_from(ComputeSession)
    return int(db.scalar(query.where(ComputeSession.status == SessionStatus.PENDING)) or 0)


def _utilised(slot: str, *, capacity: int, used: int, reserved: dict[str, int]) -> Utilised:
    total = from_units(slot, capacity)
    busy = Decimal(used) / GPU_PERCENT if slot == "cuda.device" else from_units(slot, used)
    return Utilised(
        slot=slot,
        label=slot_label(slot),
        reserved=Gauge(slot, from_units(slot, reserved.get(slot, 0)), total),
        used=Gauge(slot, busy, total),
    )


def _unfinished_of(db: Session, owner: uuid.UUID) -> int:
    """The owner's sessions that have not finished (pending or occupying)."""
    query = select(func.count()).select_from(ComputeSession)
    return int(
        db.scalar(
            query.where(ComputeSession.owner_id == owner, ComputeSession.status.in_(UNFINISHED))
        )
        or 0
    )
