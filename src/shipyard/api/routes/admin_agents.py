"""Administration of agents and agent tokens through the API (admins only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from shipyard.admin import agents as admin
from shipyard.agents.admin_schemas import (
    AgentAdmin,
    AgentsAdmin,
    AgentTokenAdmin,
    AgentTokenCreate,
    AgentTokenIssued,
    AgentTokensAdmin,
    AgentUpdate,
)
from shipyard.agents.models import AgentStatus
from shipyard.agents.schemas import AGENT_ID
from shipyard.api.deps import AdminUser, require_admin
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.validation import NO_NUL

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])
AgentId = Annotated[str, Path(max_length=64, pattern=AGENT_ID)]


@router.get("/agents")
def list_agents(
    db: DbDep,
    group: Annotated[str, Query(max_length=64, pattern=NO_NUL)] = "",
    agent_status: Annotated[AgentStatus | None, Query(alias="status")] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = admin.PAGE_SIZE,
) -> AgentsAdmin:
    """Agents with capacity, occupancy (from the ledger), utilisation and enforcement."""
    return admin.list_agents(db, group=group, status=agent_status, offset=offset, limit=limit)


@router.get("/agents/{agent_id}")
def get_agent(agent_id: AgentId, db: DbDep) -> AgentAdmin:
    return admin.get_agent(db, agent_id)


@router.patch("/agents/{agent_id}")
def update_agent(
    agent_id: AgentId,
    body: AgentUpdate,
    admin_user: AdminUser,
    db: DbDep,
    settings: SettingsDep,
) -> AgentAdmin:
    """Drain or undrain (`schedulable`), or move to another group (`resource_group`)."""
    if body.resource_group is not None:
        admin.move_agent(db, actor=admin_user, agent_id=agent_id, group_name=body.resource_group)
    if body.schedulable is not None:
        admin.set_schedulable(
            db,
            actor=admin_user,
            agent_id=agent_id,
            schedulable=body.schedulable,
            unsandboxed_ok=settings.loopback_only,
        )
    return admin.get_agent(db, agent_id)


@router.get("/agent-tokens")
def list_agent_tokens(db: DbDep) -> AgentTokensAdmin:
    """Agent tokens, newest first (their prefixes only), revoked ones included."""
    tokens = admin.list_tokens(db)
    return AgentTokensAdmin(data=tokens, count=len(tokens))


@router.post("/agent-tokens", status_code=status.HTTP_201_CREATED)
def create_agent_token(
    body: AgentTokenCreate, admin_user: AdminUser, db: DbDep
) -> AgentTokenIssued:
    return admin.issue_token(db, actor=admin_user, group_name=body.resource_group)


@router.delete("/agent-tokens/{token_id}")
def revoke_agent_token(token_id: uuid.UUID, admin_user: AdminUser, db: DbDep) -> AgentTokenAdmin:
    """Revoke: agents can no longer register or report with this token."""
    admin.revoke_token(db, actor=admin_user, token_id=token_id)
    return admin.get_token(db, token_id)
