"""Administration through the API (admins only)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from shipyard.agents import service as agents
from shipyard.api.deps import ApiUser, DbDep, SettingsDep, require_admin
from shipyard.environments import service as environments
from shipyard.environments.models import Environment
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


class EnvironmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    description: str = Field(default="", max_length=1000, pattern=NO_NUL)
    interpreter: str = Field(default="", max_length=1024, pattern=NO_NUL)
    apps: list[str] = Field(default_factory=lambda: ["terminal"], max_length=8)


class EnvironmentAdmin(BaseModel):
    name: str
    description: str
    interpreter: str
    apps: list[str]
    enabled: bool
    source: str


class RescanReport(BaseModel):
    added: list[str]
    kept: list[str]
    disabled: list[str]


def _env_admin(env: Environment) -> EnvironmentAdmin:
    return EnvironmentAdmin(
        name=env.name,
        description=env.description,
        interpreter=env.interpreter,
        apps=list(env.apps),
        enabled=env.enabled,
        source=env.source.value,
    )


@router.get("/environments")
def list_environments(db: DbDep) -> list[EnvironmentAdmin]:
    return [_env_admin(env) for env in environments.list_all(db)]


@router.post("/environments", status_code=status.HTTP_201_CREATED)
def add_environment(body: EnvironmentCreate, db: DbDep) -> EnvironmentAdmin:
    env = environments.register(
        db,
        name=body.name,
        description=body.description,
        interpreter=body.interpreter,
        apps=tuple(body.apps),
    )
    return _env_admin(env)


@router.post("/environments/rescan")
def rescan_environments(db: DbDep, settings: SettingsDep) -> RescanReport:
    """Look for virtual environments under the configured environment_dirs."""
    found = environments.rescan(db, settings.environment_dirs)
    return RescanReport(added=found.added, kept=found.kept, disabled=found.disabled)
