"""Administration through the API (admins only)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from shipyard.agents import service as agents
from shipyard.api.deps import ApiUser, DbDep, require_admin
from shipyard.validation import NO_NUL

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


class AgentTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource_group: str = Field(default="default", min_length=1, max_length=64, pattern=NO_NUL)


class AgentTokenIssued(BaseModel):
    token: str = Field(description="Shown once: pass it to `shipyard agent --token`.")
    resource_group: str
    created_at: datetime


@router.post("/agent-tokens", status_code=status.HTTP_201_CREATED)
def create_agent_token(body: AgentTokenCreate, user: ApiUser, db: DbDep) -> AgentTokenIssued:
    raw, token = agents.create_agent_token(db, group_name=body.resource_group, created_by=user.id)
    return AgentTokenIssued(
        token=raw, resource_group=body.resource_group, created_at=token.created_at
    )
