"""Administration of agents and agent tokens: list, drain, move, issue, revoke (audited).

Every change records an audit entry in the same transaction. Lists cost a constant number of
statements whatever the number of agents (occupancy comes from the ledger in one query).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from shipyard.agents import service as agents
from shipyard.agents.admin_schemas import (
    AgentAdmin,
    AgentsAdmin,
    AgentTokenAdmin,
    AgentTokenIssued,
    SlotFigure,
)
from shipyard.agents.models import Agent, AgentStatus, AgentToken, ResourceGroup
from shipyard.audit import service as audit
from shipyard.audit.models import Action
from shipyard.db import utcnow
from shipyard.errors import Conflict, NotFound
from shipyard.i18n import _
from shipyard.resources import ledger
from shipyard.resources.ledger import EMPTY, Held
from shipyard.resources.models import Scope
from shipyard.resources.slots import SLOT_KINDS, ResourceSlots, amount_text, humanize
from shipyard.sessions import effects
from shipyard.users.models import User

PAGE_SIZE = 50


def slot_figures(capacity: ResourceSlots, used: ResourceSlots) -> list[SlotFigure]:
    """Per slot kind, used vs capacity; accelerators only where there are some."""
    figures = []
    for slot, kind in SLOT_KINDS.items():
        total, taken = capacity[slot], used[slot]
        if kind.accelerator and not total and not taken:
            continue
        shown = f"{humanize(slot, taken)} / {humanize(slot, total)}"
        figures.append(
            SlotFigure(slot=slot, used=amount_text(taken), capacity=amount_text(total), shown=shown)
        )
    return figures


def _present(agent: Agent, group: str, held: Held) -> AgentAdmin:
    return AgentAdmin(
        id=agent.id,
        hostname=agent.hostname,
        resource_group=group,
        status=agent.status,
        schedulable=agent.schedulable,
        version=agent.version,
        addr=agent.addr,
        slots=slot_figures(agent.capacity_slots, held.slots),
        sessions=held.sessions,
        utilization=dict(agent.utilization or {}),
        enforcement=dict(agent.enforcement or {}),
        accelerators=list(agent.accelerators or []),
        first_seen_at=agent.first_seen_at,
        last_heartbeat_at=agent.last_heartbeat_at,
        lost_at=agent.lost_at,
    )


def _filtered(
    query: Select[Agent, str], group: str, status: AgentStatus | None
) -> Select[Agent, str]:
    if group:
        query = query.where(ResourceGroup.name == group)
    if status is not None:
        query = query.where(Agent.status == status)
    return query


def list_agents(
    db: Session,
    *,
    group: str = "",
    status: AgentStatus | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> AgentsAdmin:
    """One page of agents (by id), filtered by group name and status; three statements."""
    base = select(Agent, ResourceGroup.name).join(
        ResourceGroup, ResourceGroup.id == Agent.resource_group_id
    )
    query = _filtered(base, group, status)
    count = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(db.execute(query.order_by(Agent.id).offset(offset).limit(limit)))
    held = ledger.held(db, Scope.AGENT, [agent.id for agent, _name in rows])
    data = [_present(agent, name, held.get(agent.id, EMPTY)) for agent, name in rows]
    return AgentsAdmin(data=data, count=count)


def _agent(db: Session, agent_id: str) -> Agent:
    agent = db.get(Agent, agent_id)
    if agent is None:
        raise NotFound(_("No such agent: %(id)s.") % {"id": agent_id})
    return agent


def get_agent(db: Session, agent_id: str) -> AgentAdmin:
    agent = _agent(db, agent_id)
    group = db.get(ResourceGroup, agent.resource_group_id)
    held = ledger.held(db, Scope.AGENT, [agent.id])[agent.id]
    return _present(agent, group.name if group else "", held)


def set_schedulable(
    db: Session, *, actor: User, agent_id: str, schedulable: bool, unsandboxed_ok: bool
) -> Agent:
    """Drain (False: running sessions go on, no new ones are placed) or undrain an agent.

    An agent without a sandbox may get sessions only when `unsandboxed_ok` (the manager
    listens on loopback alone), as at registration.
    """
    agent = _agent(db, agent_id)
    sandbox = (agent.enforcement or {}).get("sandbox")
    if schedulable and sandbox == "none" and not unsandboxed_ok:
        raise Conflict(
            _(
                "Agent %(id)s has no sandbox: it may run sessions only when the manager listens "
                "on loopback alone. Install bubblewrap on it first."
            )
            % {"id": agent.id}
        )
    if agent.schedulable != schedulable:
        agent.schedulable = schedulable
        effects.wake_scheduler(db)  # undrained: waiting sessions may go there now
        audit.record(
            db,
            Action.AGENT_SCHEDULABLE,
            actor=actor,
            target_type="agent",
            target_id=agent.id,
            target_label=agent.hostname or agent.id,
            details={"schedulable": schedulable},
        )
    db.commit()
    return agent


def move_agent(db: Session, *, actor: User, agent_id: str, group_name: str) -> Agent:
    """Put an agent into another (active) resource group; refused while sessions occupy it.

    The agent's token admits to its old group: it must be restarted with a token of the new one.
    """
    agent = _agent(db, agent_id)
    target = agents.group_by_name(db, group_name)
    if target.id == agent.resource_group_id:
        return agent
    if ledger.held(db, Scope.AGENT, [agent.id])[agent.id].sessions:
        raise Conflict(
            _("Agent %(id)s still has sessions: drain it and let them end before moving it.")
            % {"id": agent.id},
            details={"field": "resource_group"},
        )
    source = db.get(ResourceGroup, agent.resource_group_id)
    agent.resource_group_id = target.id
    effects.wake_scheduler(db)  # its capacity now serves the other group's waiting sessions
    audit.record(
        db,
        Action.AGENT_MOVE,
        actor=actor,
        target_type="agent",
        target_id=agent.id,
        target_label=agent.hostname or agent.id,
        details={"from": source.name if source else "", "to": target.name},
    )
    db.commit()
    return agent


# Agent tokens -------------------------------------------------------------------------------


def issue_token(db: Session, *, actor: User, group_name: str) -> AgentTokenIssued:
    """A new agent token for one (active) group; the raw value is in the answer only."""
    group = agents.group_by_name(db, group_name)
    raw, token = agents.new_agent_token(db, group=group, created_by=actor.id)
    audit.record(
        db,
        Action.AGENT_TOKEN_CREATE,
        actor=actor,
        target_type="agent_token",
        target_id=token.id,
        target_label=token.prefix,
        details={"resource_group": group.name},
    )
    db.commit()
    return AgentTokenIssued(
        id=token.id,
        token=raw,
        prefix=token.prefix,
        resource_group=group.name,
        created_at=token.created_at,
    )


def list_tokens(
    db: Session, *, token_id: uuid.UUID | None = None, limit: int = 500
) -> list[AgentTokenAdmin]:
    """The newest agent tokens first (or the one with `token_id`), revoked ones included."""
    query = (
        select(AgentToken, ResourceGroup.name, User.email)
        .join(ResourceGroup, ResourceGroup.id == AgentToken.resource_group_id)
        .outerjoin(User, User.id == AgentToken.created_by)
        .order_by(AgentToken.created_at.desc(), AgentToken.prefix)
        .limit(limit)
    )
    if token_id is not None:
        query = query.where(AgentToken.id == token_id)
    rows = db.execute(query)
    return [
        AgentTokenAdmin(
            id=token.id,
            prefix=token.prefix,
            resource_group=group,
            created_by=email,
            created_at=token.created_at,
            revoked_at=token.revoked_at,
        )
        for token, group, email in rows
    ]


def get_token(db: Session, token_id: uuid.UUID) -> AgentTokenAdmin:
    found = list_tokens(db, token_id=token_id)
    if not found:
        raise NotFound(_("No such agent token."))
    return found[0]


def revoke_token(db: Session, *, actor: User, token_id: uuid.UUID) -> AgentToken:
    """No agent can register or report with this token any more (idempotent)."""
    token = db.get(AgentToken, token_id)
    if token is None:
        raise NotFound(_("No such agent token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            db,
            Action.AGENT_TOKEN_REVOKE,
            actor=actor,
            target_type="agent_token",
            target_id=token.id,
            target_label=token.prefix,
        )
    db.commit()
    return token


def group_names(db: Session, *, active_only: bool = False) -> list[str]:
    """Names of the resource groups (for filters; active ones for move targets)."""
    query = select(ResourceGroup.name).order_by(ResourceGroup.name)
    if active_only:
        query = query.where(ResourceGroup.is_active.is_(True))
    return list(db.scalars(query))
