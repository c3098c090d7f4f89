"""Administration of environments through the API (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from shipyard.admin.environments import delete_image_environment
from shipyard.api.deps import AdminUser, require_admin
from shipyard.environments import image_service
from shipyard.environments import service as environments
from shipyard.environments.image_jobs import ImageJobs, image_store, jobs_of
from shipyard.environments.models import Environment
from shipyard.environments.schemas import (
    EnvironmentLog,
    ImageEnvironmentCreate,
    ImageEnvironmentPublic,
)
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.validation import NO_NUL

router = APIRouter(
    prefix="/admin/environments", tags=["admin"], dependencies=[Depends(require_admin)]
)
ENV_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
EnvName = Annotated[str, Path(max_length=64, pattern=NO_NUL)]


class EnvironmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=ENV_NAME)
    description: str = Field(default="", max_length=1000, pattern=NO_NUL)
    interpreter: str = Field(default="", max_length=1024, pattern=NO_NUL)
    apps: list[str] = Field(default_factory=lambda: ["terminal"], max_length=8)


class EnvironmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(description="false: no longer offered to new sessions; running go on.")


class EnvironmentAdmin(BaseModel):
    name: str
    description: str
    interpreter: str
    apps: list[str]
    enabled: bool
    source: str
    kind: str
    status: str
    size: int | None
    digest: str | None


class EnvironmentsAdmin(BaseModel):
    data: list[EnvironmentAdmin]
    count: int


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
        kind=env.kind.value,
        status=env.status.value,
        size=env.size,
        digest=env.image_digest,
    )


@router.get("")
def list_environments(db: DbDep) -> EnvironmentsAdmin:
    found = [_env_admin(env) for env in environments.list_all(db)]
    return EnvironmentsAdmin(data=found, count=len(found))


@router.post("", status_code=status.HTTP_201_CREATED)
def add_environment(body: EnvironmentCreate, admin_user: AdminUser, db: DbDep) -> EnvironmentAdmin:
    env = environments.register(
        db,
        name=body.name,
        description=body.description,
        interpreter=body.interpreter,
        apps=tuple(body.apps),
        actor=admin_user,
    )
    return _env_admin(env)


@router.post("/rescan")
def rescan_environments(admin_user: AdminUser, db: DbDep, settings: SettingsDep) -> RescanReport:
    """Look for virtual environments under the configured environment_dirs."""
    found = environments.rescan(db, settings.environment_dirs, actor=admin_user)
    return RescanReport(added=found.added, kept=found.kept, disabled=found.disabled)


@router.patch("/{name}")
def update_environment(
    name: EnvName, body: EnvironmentUpdate, admin_user: AdminUser, db: DbDep
) -> EnvironmentAdmin:
    """Enable or disable: a disabled environment is refused to new sessions."""
    env = environments.set_enabled(db, actor=admin_user, name=name, enabled=body.enabled)
    return _env_admin(env)


def image_jobs(request: Request) -> ImageJobs:
    return jobs_of(request.app.state)


JobsDep = Annotated[ImageJobs, Depends(image_jobs)]


@router.post("/images", status_code=status.HTTP_202_ACCEPTED)
def add_image_environment(
    body: ImageEnvironmentCreate,
    admin_user: AdminUser,
    db: DbDep,
    settings: SettingsDep,
    jobs: JobsDep,
) -> ImageEnvironmentPublic:
    """Import an image (registry or uploaded archive) or build one, in the background: the
    environment is `importing`/`building` until its job ends `ready` or `failed`."""
    env = image_service.start(db, jobs, settings=settings, actor=admin_user, body=body)
    return image_service.public(env)


@router.get("/images/{name}")
def get_image_environment(name: EnvName, db: DbDep) -> ImageEnvironmentPublic:
    """Status, progress, error and (for a build) the lock of an image environment."""
    return image_service.public(image_service.image_environment(db, name))


@router.get("/images/{name}/log")
def get_image_environment_log(name: EnvName, db: DbDep) -> EnvironmentLog:
    """The job's output: its last 64 KiB."""
    return image_service.log_of(db, name)


@router.delete("/images/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_image_environment_route(
    name: EnvName, admin_user: AdminUser, db: DbDep, settings: SettingsDep
) -> Response:
    """Remove the environment and its image; refused while a session uses it."""
    delete_image_environment(db, image_store(settings), actor=admin_user, name=name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
