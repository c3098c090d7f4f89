"""Does a request fit now? The same figures serve the launcher, creation and the scheduler."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shipyard.agents.models import Agent, AgentStatus, ResourceGroup
from shipyard.i18n import _
from shipyard.policies import service as policies
from shipyard.policies.models import ResourcePolicy
from shipyard.projects.models import Project
from shipyard.resources import ledger
from shipyard.resources.ledger import EMPTY, Held
from shipyard.resources.models import Scope
from shipyard.resources.slots import ResourceSlots, amount_text
from shipyard.sessions.models import ComputeSession, SessionStatus
from shipyard.sessions.schemas import Block, FitReport
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


def quota_blocks(
    request: ResourceSlots,
    *,
    user_policy: ResourcePolicy,
    project_policy: ResourcePolicy,
    user_held: Held,
    project_held: Held,
) -> list[Block]:
    """The policy limits that keep `request` from being admitted now (empty: it may run)."""
    blocks = []
    over_user = user_policy.limits.exceeded_by(user_held.slots + request)
    if over_user:
        blocks.append(Block(limit="user", slots=over_user, message=_message("user", over_user)))
    over_project = project_policy.limits.exceeded_by(project_held.slots + request)
    if over_project:
        blocks.append(
            Block(limit="project", slots=over_project, message=_message("project", over_project))
        )
    cap = user_policy.max_concurrent_sessions
    if cap is not None and user_held.sessions + 1 > cap:
        blocks.append(
            Block(
                limit="sessions",
                slots=[],
                message=_("You already have %(n)d of at most %(cap)d sessions.")
                % {"n": user_held.sessions, "cap": cap},
            )
        )
    return blocks


def _message(limit: str, slots: list[str]) -> str:
    names = ", ".join(slots)
    if limit == "user":
        return _("Your resource limit does not allow more %(slots)s.") % {"slots": names}
    return _("The project's resource limit does not allow more %(slots)s.") % {"slots": names}


def check(state: Standing, request: ResourceSlots) -> FitReport:
    """Whether `request` would be admitted now and, if not, every limit that blocks it."""
    blocks = quota_blocks(
        request,
        user_policy=state.user_policy,
        project_policy=state.project_policy,
        user_held=state.user_held,
        project_held=state.project_held,
    )
    cap = state.user_policy.max_pending_sessions
    if cap is not None and state.pending >= cap:
        blocks.append(
            Block(
                limit="pending",
                slots=[],
                message=_("You already have %(n)d pending sessions, the most your policy allows.")
                % {"n": state.pending},
            )
        )
    if not any(request.fits_in(free) for free in state.agents_free):
        blocks.append(
            Block(
                limit="group",
                slots=sorted(request),
                message=_("No agent in this resource group has that much free right now."),
            )
        )
    return FitReport(fits=not blocks, blocked_by=blocks, remaining=_remaining(state))


def _remaining(state: Standing) -> dict[str, dict[str, str]]:
    """What each limit still allows, exact ("inf" when unlimited); the launcher bounds by it."""
    user = state.user_policy.limits.remaining(state.user_held.slots)
    project = state.project_policy.limits.remaining(state.project_held.slots)
    slots = ("cpu", "mem", "cuda.device")
    return {
        "user": {slot: amount_text(user[slot]) for slot in slots},
        "project": {slot: amount_text(project[slot]) for slot in slots},
    }
