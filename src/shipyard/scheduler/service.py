"""One scheduling round: FIFO with backfill per resource group, admitting from the ledger.

Only the scheduler moves sessions into occupying statuses, and only one scheduler runs at a
time (one per process, and under a PostgreSQL advisory lock across managers), so reading
the ledger and allocating in the same transaction cannot over-allocate.
"""

from __future__ import annotations

import uuid
from bisect import bisect_left, insort
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipyard.agents.models import Agent, AgentStatus, Placement, ResourceGroup
from shipyard.i18n import _
from shipyard.policies import service as policies
from shipyard.policies.models import PolicyKind, ResourcePolicy
from shipyard.projects.models import Project
from shipyard.resources import ledger, quota
from shipyard.resources.ledger import EMPTY, Held
from shipyard.resources.models import Scope
from shipyard.resources.slots import ResourceSlots
from shipyard.sessions import lifecycle
from shipyard.sessions.models import ComputeSession, SessionStatus
from shipyard.users.models import User

BATCH = 5000  # pending sessions looked at per group and round
GPU = "cuda.device"


@dataclass
class Round:
    placed: int = 0
    waiting: int = 0
    agents_touched: set[str] = field(default_factory=set)
    waits: list[float] = field(default_factory=list)  # seconds each placed session was pending


@dataclass
class _Node:
    agent_id: str
    free: ResourceSlots


_Entry = tuple[Decimal, Decimal, str, _Node]  # how _Index sorts a node within its bucket


def _entry(node: _Node) -> _Entry:
    return (node.free["cpu"], node.free["mem"], node.agent_id, node)


def schedule_once(db: Session) -> Round:
    """Place what can be placed now; commit; return what happened."""
    result = Round()
    groups = db.scalars(
        select(ResourceGroup).where(
            ResourceGroup.is_active.is_(True),
            ResourceGroup.id.in_(
                select(ComputeSession.resource_group_id).where(
                    ComputeSession.status == SessionStatus.PENDING
                )
            ),
        )
    )
    for group in list(groups):
        _schedule_group(db, group, result)
    db.commit()
    return result


def _schedule_group(db: Session, group: ResourceGroup, result: Round) -> None:
    pending = list(
        db.scalars(
            select(ComputeSession)
            .where(
                ComputeSession.resource_group_id == group.id,
                ComputeSession.status == SessionStatus.PENDING,
            )
            .order_by(ComputeSession.created_at, ComputeSession.id)
            .limit(BATCH)
        )
    )
    view = _view(db, group, pending)
    waiting: list[tuple[ComputeSession, str]] = []
    for session in pending:
        reason = _place(db, session, view)
        if reason is None:
            result.placed += 1
            result.agents_touched.add(str(session.agent_id))
            result.waits.append((session.status_changed_at - session.created_at).total_seconds())
        else:
            waiting.append((session, reason))
    result.waiting += len(waiting)
    view.writes.apply(db)  # before the next group reads the ledger
    # placements and reasons change different columns: flushed apart, each is one executemany
    db.flush()
    for session, reason in waiting:
        if session.status_info != reason:
            session.status_info = reason


@dataclass
class _View:
    """What a group's round knows, kept current in memory as it places sessions."""

    nodes: _Index
    users: dict[str, Held]
    projects: dict[str, Held]
    user_policy: dict[uuid.UUID, ResourcePolicy]
    project_policy: dict[uuid.UUID, ResourcePolicy]
    requests: _Requests
    writes: lifecycle.Writes


def _view(db: Session, group: ResourceGroup, pending: list[ComputeSession]) -> _View:
    user_policy, project_policy = _policies(db, pending)
    return _View(
        nodes=_nodes(db, group),
        users=_held(db, Scope.USER, {str(s.owner_id) for s in pending}),
        projects=_held(db, Scope.PROJECT, {str(s.project_id) for s in pending}),
        user_policy=user_policy,
        project_policy=project_policy,
        requests=_Requests(),
        writes=lifecycle.Writes(),
    )


def _place(db: Session, session: ComputeSession, view: _View) -> str | None:
    """Admit and place one session; None when placed, else why it waits."""
    request = view.requests.of(session)
    owner, project = str(session.owner_id), str(session.project_id)
    blocks = quota.quota_blocks(
        request,
        user=view.user_policy[session.owner_id].quota,
        project=view.project_policy[session.project_id].quota,
        user_held=view.users[owner],
        project_held=view.projects[project],
    )
    if blocks:
        return blocks[0].message
    node = view.nodes.choose(request)
    if node is None:
        return _("Waiting for free capacity.")
    session.agent_id = node.agent_id
    lifecycle.move(
        db, session, SessionStatus.SCHEDULED, _("Assigned to an agent."), writes=view.writes
    )
    view.nodes.take(node, request)
    view.users[owner] = _plus(view.users[owner], request)
    view.projects[project] = _plus(view.projects[project], request)
    return None


class _Requests:
    """Parsed requests of one round: sessions ask for few distinct shapes, parse each once."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[tuple[str, str], ...], ResourceSlots] = {}

    def of(self, session: ComputeSession) -> ResourceSlots:
        key = tuple(sorted((slot, str(amount)) for slot, amount in session.requested.items()))
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = self._parsed[key] = session.slots
        return parsed


def _nodes(db: Session, group: ResourceGroup) -> _Index:
    rows = list(
        db.execute(
            select(Agent.id, Agent.capacity).where(
                Agent.resource_group_id == group.id,
                Agent.status == AgentStatus.ALIVE,
                Agent.schedulable.is_(True),
            )
        )
    )
    occupancy = ledger.held(db, Scope.AGENT, [row.id for row in rows])
    nodes = [
        _Node(row.id, ResourceSlots.from_json(row.capacity) - occupancy[row.id].slots)
        for row in rows
    ]
    return _Index(nodes, group.placement)


class _Index:
    """The agents of a group by free capacity, so choosing one is a bisect, not a scan.

    The choice is the fitting agent with the least (bin-pack) or most (spread) free, compared
    by (GPUs, cpu, mem, agent id). Agents sit in one bucket per free GPU count, each sorted by
    (cpu, mem, id): the first fitting agent from the GPU and cpu the request needs (or the
    last, for spread) is the answer. Free capacity only shrinks during a round, so a request
    that found no agent is remembered and answered at once next time.
    """

    def __init__(self, nodes: list[_Node], placement: Placement) -> None:
        self._spread = placement is Placement.SPREAD
        self._buckets: dict[Decimal, list[_Entry]] = defaultdict(list)
        for node in nodes:
            self._buckets[node.free[GPU]].append(_entry(node))
        for entries in self._buckets.values():
            entries.sort()
        self._levels = sorted(self._buckets)
        self._misses: set[ResourceSlots] = set()

    def choose(self, request: ResourceSlots) -> _Node | None:
        if request in self._misses:
            return None
        # fits_in checks only the slots a request names: an over-allocated agent (negative
        # free after its capacity shrank) still fits requests that do not ask for that slot
        low = bisect_left(self._levels, request[GPU]) if GPU in request else 0
        levels = self._levels[low:]
        for gpus in reversed(levels) if self._spread else levels:
            node = self._in_bucket(self._buckets[gpus], request)
            if node is not None:
                return node
        self._misses.add(request)
        return None

    def _in_bucket(self, entries: list[_Entry], request: ResourceSlots) -> _Node | None:
        start = bisect_left(entries, (request["cpu"],)) if "cpu" in request else 0
        order = (
            range(len(entries) - 1, start - 1, -1) if self._spread else range(start, len(entries))
        )
        for index in order:
            node = entries[index][3]
            if request.fits_in(node.free):
                return node
        return None

    def take(self, node: _Node, request: ResourceSlots) -> None:
        """The node now also holds `request`: move it to where its new free capacity sorts."""
        entries = self._buckets[node.free[GPU]]
        del entries[bisect_left(entries, _entry(node)[:3])]
        if not entries:
            del self._buckets[node.free[GPU]]
            self._levels.remove(node.free[GPU])
        node.free = node.free - request
        gpus = node.free[GPU]
        if gpus not in self._buckets:
            insort(self._levels, gpus)
        insort(self._buckets[gpus], _entry(node))


def _held(db: Session, scope: Scope, ids: set[str]) -> dict[str, Held]:
    found = ledger.held(db, scope, ids)
    return defaultdict(lambda: EMPTY, found)


def _plus(held: Held, request: ResourceSlots) -> Held:
    return Held(held.slots + request, held.sessions + 1)


def _policies(
    db: Session, pending: list[ComputeSession]
) -> tuple[dict[uuid.UUID, ResourcePolicy], dict[uuid.UUID, ResourcePolicy]]:
    owners = {s.owner_id for s in pending}
    projects = {s.project_id for s in pending}
    user_rows = db.execute(select(User.id, User.resource_policy_id).where(User.id.in_(owners)))
    project_rows = db.execute(
        select(Project.id, Project.resource_policy_id).where(Project.id.in_(projects))
    )
    user_policy_of = {row[0]: row[1] for row in user_rows}
    project_policy_of = {row[0]: row[1] for row in project_rows}
    user_found = policies.policies_by_id(
        db, PolicyKind.USER, {p for p in user_policy_of.values() if p is not None}
    )
    project_found = policies.policies_by_id(
        db, PolicyKind.PROJECT, {p for p in project_policy_of.values() if p is not None}
    )
    return (
        {owner: user_found.get(user_policy_of.get(owner), user_found[None]) for owner in owners},
        {
            project: project_found.get(project_policy_of.get(project), project_found[None])
            for project in projects
        },
    )
