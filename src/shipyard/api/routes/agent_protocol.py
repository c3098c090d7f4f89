"""The agent protocol: register, heartbeat with session reports, long-poll the desired state.

Agents sign every request with a key derived from their agent token (created by an admin
for one resource group) and take only answers the manager signed (api/agent_auth.py). See
docs/agents.md for the whole exchange.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from shipyard.agents.schemas import (
    AGENT_ID,
    AgentRegister,
    DesiredState,
    Heartbeat,
    HeartbeatReply,
    RegisterReply,
)
from shipyard.api.agent_auth import AgentGroup, AgentKeyDep, SignedAnswers
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.sessions import desired as desired_states
from shipyard.sessions import reports

router = APIRouter(prefix="/api/v1/agent", tags=["agent protocol"], route_class=SignedAnswers)
MAX_WAIT = 30.0


@router.post("/register")
def register(
    body: AgentRegister, key: AgentKeyDep, group: AgentGroup, db: DbDep, settings: SettingsDep
) -> RegisterReply:
    agent = reports.register(
        db,
        group=group,
        payload=body,
        token_hash=key.token_hash,
        unsandboxed_ok=settings.loopback_only,
    )
    return RegisterReply(
        agent_id=agent.id,
        resource_group=group.name,
        heartbeat_interval=settings.agent_heartbeat_seconds,
        lost_after=settings.agent_lost_seconds,
    )


@router.post("/heartbeat")
async def heartbeat(body: Heartbeat, key: AgentKeyDep, request: Request) -> HeartbeatReply:
    """Live utilisation and the sessions the agent actually runs (a full report).

    The hottest call of the manager (every agent, every few seconds): all its database work
    runs in one worker-thread hop.
    """
    with request.app.state.metrics.agent_heartbeat_seconds.time():
        version = await run_in_threadpool(
            reports.heartbeat, request.app.state.db, key=key, body=body
        )
    return HeartbeatReply(desired_version=version)


@router.get("/desired")
async def desired(
    request: Request,
    group: AgentGroup,
    agent_id: Annotated[str, Query(pattern=AGENT_ID)],
    after: Annotated[int, Query(ge=-1)] = -1,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT)] = 0,
) -> DesiredState:
    """The sessions this agent should run, once their version is newer than `after`.

    Waits up to `wait` seconds for a change (long-poll), so a START reaches the agent at once.
    """
    return await desired_states.next_state(
        request.app.state.db,
        request.app.state.settings,
        notifier=request.app.state.notifier,
        group=group,
        agent_id=agent_id,
        after=after,
        wait=wait,
    )
