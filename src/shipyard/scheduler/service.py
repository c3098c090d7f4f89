"""One scheduling round: FIFO with backfill per resource group, admitting from the ledger.

Only the scheduler moves sessions into occupying statuses, and only one scheduler runs at a
time (one per process, and under a PostgreSQL advisory lock across managers), so reading
the ledger and allocating in the same transaction cannot over-allocate.
"""

from __future__ import annotations

import uuid
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
from shipyard.scheduler import ledger
from shipyard.scheduler.ledger import EMPTY, Held
from shipyard.scheduler.models import Scope
from shipyard.sessions import lifecycle, quota
from shipyard.sessions.models import ComputeSession, SessionStatus
from shipyard.slots import ResourceSlots
from shipyard.users.models import User

BATCH = 5000  # pending sessions looked at per group and round


@dataclass
class Round:
    placed: int = 0
    waiting: int = 0
    agents_touched: set[str] = field(default_factory=set)


@dataclass
class _Node:
    agent: Agent
    free: ResourceSlots


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
    nodes = _nodes(db, group)
    users = _held(db, Scope.USER, {str(s.owner_id) for s in pending})
    projects = _held(db, Scope.PROJECT, {str(s.project_id) for s in pending})
    user_policy, project_policy = _policies(db, pending)
    for session in pending:
        request = session.slots
        blocks = quota.quota_blocks(
            request,
            user_policy=user_policy[session.owner_id],
            project_policy=project_policy[session.project_id],
            user_held=users[str(session.owner_id)],
            project_held=projects[str(session.project_id)],
        )
        node = None if blocks else _choose(nodes, request, group.placement)
        if node is None:
            reason = blocks[0].message if blocks else _("Waiting for free capacity.")
            if session.status_info != reason:
                session.status_info = reason
            result.waiting += 1
            continue
        session.agent_id = node.agent.id
        lifecycle.move(db, session, SessionStatus.SCHEDULED, _("Assigned to an agent."))
        node.free = node.free - request
        users[str(session.owner_id)] = _plus(users[str(session.owner_id)], request)
        projects[str(session.project_id)] = _plus(projects[str(session.project_id)], request)
        result.placed += 1
        result.agents_touched.add(node.agent.id)


def _nodes(db: Session, group: ResourceGroup) -> list[_Node]:
    agents = list(
        db.scalars(
            select(Agent).where(
                Agent.resource_group_id == group.id,
                Agent.status == AgentStatus.ALIVE,
                Agent.schedulable.is_(True),
            )
        )
    )
    occupancy = ledger.held(db, Scope.AGENT, [agent.id for agent in agents])
    return [_Node(agent, agent.capacity_slots - occupancy[agent.id].slots) for agent in agents]


def _choose(nodes: list[_Node], request: ResourceSlots, placement: Placement) -> _Node | None:
    """Bin-pack: the fitting agent with the least free; spread: the one with the most."""
    fitting = [node for node in nodes if request.fits_in(node.free)]
    if not fitting:
        return None
    key = _weight
    return min(fitting, key=key) if placement is Placement.BINPACK else max(fitting, key=key)


def _weight(node: _Node) -> tuple[Decimal, Decimal, Decimal, str]:
    free = node.free
    return (free["cuda.device"], free["cpu"], free["mem"], node.agent.id)


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
