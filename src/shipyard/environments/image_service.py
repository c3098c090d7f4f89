"""Image environments: start an import or a build, read how it goes, show it.

Only admins make them for now (scope global); the scope and owner columns are there for
project and user environments. Registry credentials are stored encrypted (secrets.py) and
never shown; the source detail shown keeps only the registry's reference and user name.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipyard.audit import service as audit
from shipyard.audit.models import Action
from shipyard.config import Settings
from shipyard.environments import secrets
from shipyard.environments.image_jobs import build_spec, registry_source, upload_path
from shipyard.environments.models import (
    Environment,
    EnvironmentKind,
    EnvironmentScope,
    EnvironmentSource,
    EnvironmentStatus,
)
from shipyard.environments.schemas import (
    EnvironmentLog,
    ImageEnvironmentCreate,
    ImageEnvironmentPublic,
    ImageSourceIn,
    JobProgress,
)
from shipyard.environments.service import TERMINAL
from shipyard.errors import Conflict, InvalidInput, NotFound
from shipyard.i18n import _
from shipyard.users.models import User


class Submitter(Protocol):
    def submit(self, env_id: Any) -> None: ...


def start(
    db: Session, jobs: Submitter, *, settings: Settings, actor: User, body: ImageEnvironmentCreate
) -> Environment:
    """Record the environment (importing or building) and start its job after the commit."""
    detail, credentials = _checked_source(body.source, settings=settings, body=body)
    if db.scalar(select(Environment.id).where(Environment.name == body.name)) is not None:
        raise Conflict(
            _("An environment with this name already exists."), details={"field": "name"}
        )
    env = Environment(
        name=body.name,
        description=body.description,
        apps=[TERMINAL],
        source=EnvironmentSource.ADMIN,
        kind=EnvironmentKind.IMAGE,
        status=EnvironmentStatus.BUILDING if body.source.build else EnvironmentStatus.IMPORTING,
        scope=EnvironmentScope.GLOBAL,
        owner_id=actor.id,
        image_source=detail,
        credentials=secrets.encrypt(settings, credentials) if credentials else None,
        progress={},
    )
    db.add(env)
    db.flush()
    env.image_ref = f"env-{env.id.hex}"
    audit.record(
        db, Action.ENVIRONMENT_ADD, actor=actor, target_type="environment",
        target_id=env.id, target_label=env.name, details={"source": _kind_of(detail)},
    )  # fmt: skip
    db.commit()
    jobs.submit(env.id)
    return env


def _kind_of(detail: dict[str, Any]) -> str:
    return next(iter(detail))


def _field(error: InvalidInput, field: str) -> InvalidInput:
    return InvalidInput(error.message, details={"field": field})


def _checked_source(
    source: ImageSourceIn, *, settings: Settings, body: ImageEnvironmentCreate
) -> tuple[dict[str, Any], str | None]:
    """The source detail to keep (no secret) and the credentials to encrypt, checked now so
    that bad input is refused before any job starts."""
    if source.registry is not None:
        registry = source.registry
        detail = {"reference": registry.reference, "insecure": registry.insecure}
        try:
            registry_source(detail, None)
        except InvalidInput as error:
            raise _field(error, "source.registry.reference") from error
        if registry.username is not None and registry.password is not None:
            detail["username"] = registry.username
            return {"registry": detail}, f"{registry.username}\0{registry.password}"
        return {"registry": detail}, None
    if source.archive is not None:
        upload_path(settings, source.archive.file)
        return {"archive": {"file": source.archive.file}}, None
    assert source.build is not None
    built = source.build.model_dump()
    try:
        build_spec(built, description=body.description)
    except InvalidInput as error:
        raise _field(error, "source.build") from error
    return {"build": built}, None


def image_environment(db: Session, name: str) -> Environment:
    """An image environment by name; NotFound for a host one or none."""
    env = db.scalar(
        select(Environment).where(
            Environment.name == name, Environment.kind == EnvironmentKind.IMAGE
        )
    )
    if env is None:
        raise NotFound(_("Unknown image environment: %(name)s.") % {"name": name})
    return env


def public(env: Environment) -> ImageEnvironmentPublic:
    progress = env.progress or {}
    return ImageEnvironmentPublic(
        name=env.name,
        description=env.description,
        kind=env.kind.value,
        status=env.status.value,
        scope=env.scope.value,
        enabled=env.enabled,
        apps=list(env.apps),
        image_ref=env.image_ref,
        image_digest=env.image_digest,
        size=env.size,
        source=dict(env.image_source or {}),
        progress=JobProgress(
            done=progress.get("done"), total=progress.get("total"), line=progress.get("line") or ""
        ),
        error=env.error,
        lock=env.lock,
        created_at=env.created_at,
        updated_at=env.updated_at,
    )


def log_of(db: Session, name: str) -> EnvironmentLog:
    env = image_environment(db, name)
    return EnvironmentLog(name=env.name, status=env.status.value, log=env.log)
