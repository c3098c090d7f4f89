"""What a user may start sessions with: environments and resource groups."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shipyard.agents import service as agents
from shipyard.api.deps import ApiUser
from shipyard.environments import service as environments
from shipyard.http.deps import DbDep
from shipyard.projects import service as projects

router = APIRouter(tags=["catalog"])


class EnvironmentPublic(BaseModel):
    name: str
    description: str
    apps: list[str]
    kind: str = Field(description="host: the node's own system; image: an OCI image")
    status: str = Field(description="only ready ones can start sessions")
    size: int | None = Field(description="an image's bytes")
    digest: str | None = Field(description="an image's manifest digest")


class ResourceGroupPublic(BaseModel):
    name: str
    description: str


@router.get("/environments")
def list_environments(user: ApiUser, db: DbDep) -> list[EnvironmentPublic]:
    return [
        EnvironmentPublic(
            name=e.name,
            description=e.description,
            apps=list(e.apps),
            kind=e.kind.value,
            status=e.status.value,
            size=e.size,
            digest=e.image_digest,
        )
        for e in environments.list_enabled(db)
    ]


@router.get("/resource-groups")
def list_groups(user: ApiUser, db: DbDep) -> list[ResourceGroupPublic]:
    """The groups the user's current project may use."""
    current = projects.current_project(projects.projects_of(db, user), user)
    if current is None:
        return []
    return [
        ResourceGroupPublic(name=g.name, description=g.description)
        for g in agents.groups_of_project(db, current.id)
    ]
