"""Deleting an image environment: refused while a session uses it (spans sessions)."""

from __future__ import annotations

import contextlib

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from shipyard.audit import service as audit
from shipyard.audit.models import Action
from shipyard.environments.image_jobs import RUNNING
from shipyard.environments.image_service import image_environment
from shipyard.environments.images.store import ImageStore
from shipyard.environments.models import EnvironmentStatus
from shipyard.errors import Conflict, NotFound
from shipyard.i18n import _
from shipyard.sessions.models import FINISHED, ComputeSession
from shipyard.users.models import User


def delete_image_environment(db: Session, store: ImageStore, *, actor: User, name: str) -> None:
    """Remove the environment and its image from the store.

    Refused (Conflict) while its job runs or a session that has not finished uses it. Where
    finished sessions still name it, the row stays as DELETED (disabled, no image) so their
    history reads right; otherwise the row goes too."""
    env = image_environment(db, name)
    if env.status in RUNNING:
        raise Conflict(_("The environment's job is still running; wait for it to end."))
    sessions = select(ComputeSession.id).where(ComputeSession.environment_id == env.id)
    if db.scalar(select(exists(sessions.where(ComputeSession.status.not_in(FINISHED))))):
        raise Conflict(_("Sessions use this environment; delete it once they have ended."))
    audit.record(
        db, Action.ENVIRONMENT_DELETE, actor=actor, target_type="environment",
        target_id=env.id, target_label=env.name,
    )  # fmt: skip
    if db.scalar(select(exists(sessions))):
        env.status, env.enabled, env.disabled_by_admin = EnvironmentStatus.DELETED, False, True
        env.image_digest, env.size, env.error = None, None, ""
    else:
        db.delete(env)
    db.commit()
    if env.image_ref is not None:
        with contextlib.suppress(NotFound):  # a failed job stored nothing
            store.delete(env.image_ref)
