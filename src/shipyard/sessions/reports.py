"""What agents tell the manager: their registration, and heartbeats reporting what they run.

Both may let a waiting session start (capacity joined or came back, sessions ended), so
both wake the scheduler once they commit (shipyard.sessions.effects).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from shipyard.agents import service as agents
from shipyard.agents.models import Agent, ResourceGroup
from shipyard.agents.schemas import AgentRegister, Heartbeat
from shipyard.sessions import effects
from shipyard.sessions import service as sessions

if TYPE_CHECKING:
    from shipyard.db import Database


def register(
    db: Session,
    *,
    group: ResourceGroup,
    payload: AgentRegister,
    token_hash: str,
    unsandboxed_ok: bool,
) -> Agent:
    """Create or refresh an agent (agents.register, which commits); its capacity is offered."""
    effects.wake_scheduler(db)
    return agents.register(
        db, group=group, payload=payload, token_hash=token_hash, unsandboxed_ok=unsandboxed_ok
    )


def heartbeat(database: Database, *, key: agents.AgentKey, body: Heartbeat) -> int:
    """Take a heartbeat, in one transaction of its own; returns the agent's desired version.

    The hottest call of the manager (every agent, every few seconds): one thread may run it
    whole. A LOST agent that reports is back; reports move its sessions along their lifecycle.
    """
    with database.session() as db:
        group = agents.group_of_key(db, key)
        agent = agents.agent_of(db, group=group, agent_id=body.agent_id)
        if agents.touch(db, agent=agent, utilization=body.utilization):
            effects.wake_scheduler(db)  # its capacity is back; ended sessions wake it anyway
        sessions.apply_reports(db, agent=agent, reports=body.sessions)
        version = agent.desired_version
        db.commit()
    return version
