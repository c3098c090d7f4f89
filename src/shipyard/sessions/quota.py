"""The figures that decide whether a request fits now; shipyard.resources.quota has the rules."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shipyard.agents.models import Agent, AgentStatus, ResourceGroup
from shipyard.policies import service as policies
from shipyard.policies.models import ResourcePolicy
from shipyard.projects.models import Project
from shipyard.resources import ledger
from shipyard.resources import quota as rules
from shipyard.resources.ledger import EMPTY, Held
from shipyard.resources.models import Scope
from shipyard.resources.schemas import FitReport
from shipyard.resources.slots import ResourceSlots
from shipyard.sessions.models import ComputeSession, SessionStatus
from shipyard.users.models import User


@dataclass(frozen=True)
class Standing:
    """Everything that decides whether a user's request fits in one project and group."""

    user_policy: ResourcePolicy
    project_policy: ResourcePolicy
    user_held: Held
    project_held: Held
    agents_free: list[ResourceSlots]  # free capacity of each live schedulable agent
    pending: int


def standing(db: Session, *, user: User, project: Project, group: ResourceGroup) -> Standing:
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
    pending = db.scalar(
        select(func.count())
        .select_from(ComputeSession)
        .where(ComputeSession.owner_id == user.id, ComputeSession.status == SessionStatus.PENDING)
    )
    return Standing(
        user_policy=policies.policy_of_user(db, user),
        project_policy=policies.policy_of_project(db, project),
        user_held=ledger.held(db, Scope.USER, [str(user.id)]).get(str(user.id), EMPTY),
        project_held=ledger.held(db, Scope.PROJECT, [str(project.id)]).get(str(project.id), EMPTY),
        agents_free=[agent.capacity_slots - occupancy[agent.id].slots for agent in agents],
        pending=pending or 0,
    )


def check(state: Standing, request: ResourceSlots) -> FitReport:
    """Whether `request` would be admitted now and, if not, every limit that blocks it."""
    return rules.fit(
        request,
        user=state.user_policy.quota,
        project=state.project_policy.quota,
        user_held=state.user_held,
        project_held=state.project_held,
        agents_free=state.agents_free,
        pending=state.pending,
    )
