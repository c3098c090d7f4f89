"""The agent protocol: register, heartbeat with session reports, long-poll the desired state.

Agents authenticate with an agent token (`Authorization: Bearer sya_...`) created by an
admin for one resource group. See docs/agents.md for the whole exchange.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from shipyard.agents import service as agents
from shipyard.agents.models import Agent, ResourceGroup
from shipyard.agents.schemas import (
    AGENT_ID,
    AgentRegister,
    DesiredMount,
    DesiredSession,
    DesiredState,
    Heartbeat,
    HeartbeatReply,
    RegisterReply,
)
from shipyard.api.deps import DbDep, SettingsDep
from shipyard.db import Database
from shipyard.environments.models import Environment
from shipyard.errors import AuthenticationFailed
from shipyard.i18n import _
from shipyard.sessions import lifecycle
from shipyard.sessions import service as sessions
from shipyard.sessions.models import ComputeSession, SessionStatus, SessionType

router = APIRouter(prefix="/api/v1/agent", tags=["agent protocol"])
DESIRED = (SessionStatus.SCHEDULED, SessionStatus.PREPARING, SessionStatus.RUNNING)
MAX_WAIT = 30.0


def bearer_token(request: Request) -> str:
    scheme, _sep, raw = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise AuthenticationFailed(_("Agents authenticate with an agent token."))
    return raw.strip()


def agent_group(request: Request, db: DbDep) -> ResourceGroup:
    return agents.group_of_token(db, bearer_token(request))


AgentGroup = Annotated[ResourceGroup, Depends(agent_group)]


@router.post("/register")
def register(
    body: AgentRegister, group: AgentGroup, db: DbDep, settings: SettingsDep, request: Request
) -> RegisterReply:
    agent = agents.register(db, group=group, payload=body, unsandboxed_ok=settings.loopback_only)
    request.app.state.scheduler.wake()
    return RegisterReply(
        agent_id=agent.id,
        resource_group=group.name,
        heartbeat_interval=settings.agent_heartbeat_seconds,
        lost_after=settings.agent_lost_seconds,
    )


@router.post("/heartbeat")
async def heartbeat(body: Heartbeat, request: Request) -> HeartbeatReply:
    """Live utilisation and the sessions the agent actually runs (a full report).

    The hottest call of the manager (every agent, every few seconds): all its database work
    runs in one worker-thread hop.
    """
    with request.app.state.metrics.agent_heartbeat_seconds.time():
        token = bearer_token(request)
        version, changed = await run_in_threadpool(_heartbeat, request.app.state.db, token, body)
    if changed:  # sessions ended or a lost agent came back: a waiting session may fit now
        request.app.state.scheduler.wake()
    return HeartbeatReply(desired_version=version)


def _heartbeat(database: Database, token: str, body: Heartbeat) -> tuple[int, bool]:
    with database.session() as db:
        group = agents.group_of_token(db, token)
        agent = agents.agent_of(db, group=group, agent_id=body.agent_id)
        back = agents.touch(db, agent=agent, utilization=body.utilization)
        ended = sessions.apply_reports(db, agent=agent, reports=body.sessions)
        version = agent.desired_version
        db.commit()
    return version, bool(back or ended)


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
    database: Database = request.app.state.db
    deadline = time.monotonic() + wait
    while True:
        state = await run_in_threadpool(_load, database, group, agent_id, after)
        remaining = deadline - time.monotonic()
        if state is not None or remaining <= 0:
            break
        await request.app.state.notifier.wait(agent_id, timeout=min(1.0, remaining))
    if state is None:
        state = await run_in_threadpool(_load, database, group, agent_id, -1)
    assert state is not None
    return state


def _load(
    database: Database, group: ResourceGroup, agent_id: str, after: int
) -> DesiredState | None:
    with database.session() as db:
        agent = agents.agent_of(db, group=group, agent_id=agent_id)
        if agent.desired_version <= after:
            return None
        rows = list(
            db.scalars(
                select(ComputeSession).where(
                    ComputeSession.agent_id == agent.id, ComputeSession.status.in_(DESIRED)
                )
            )
        )
        for session in rows:
            if session.status is SessionStatus.SCHEDULED:
                lifecycle.move(db, session, SessionStatus.PREPARING, _("Starting on the agent."))
        version = agent.desired_version
        db.commit()
        return DesiredState(version=version, sessions=_specs(db, agent, rows))


def _specs(db: Session, agent: Agent, rows: list[ComputeSession]) -> list[DesiredSession]:
    envs = (
        {
            env.id: env
            for env in db.scalars(
                select(Environment).where(Environment.id.in_({s.environment_id for s in rows}))
            )
        }
        if rows
        else {}
    )
    return [_spec(session, envs[session.environment_id]) for session in rows]


def _spec(session: ComputeSession, env: Environment) -> DesiredSession:
    slots = session.slots
    interactive = session.type is SessionType.INTERACTIVE
    return DesiredSession(
        session_id=session.id,
        kind="interactive" if interactive else "batch",
        command=["/bin/bash"] if interactive else ["/bin/sh", "-c", session.command],
        env={"SHIPYARD_SESSION_ID": str(session.id), "SHIPYARD_SESSION_NAME": session.name},
        interpreter=env.interpreter,
        path_prefix=env.path_prefix,
        cpu=format(slots["cpu"].normalize(), "f"),
        mem=int(slots["mem"]),
        gpus=int(slots["cuda.device"]),
        mounts=[_mount(entry) for entry in session.mounts],
    )


def _mount(entry: dict[str, Any]) -> DesiredMount:
    """What the agent needs of a stored mount entry (the entry also names the folder)."""
    return DesiredMount(source=entry["source"], name=entry["name"], read_only=entry["read_only"])
