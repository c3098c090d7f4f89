"""Sessions as the API and the console show them, with names resolved in batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from shipyard.agents.models import ResourceGroup
from shipyard.environments.models import Environment
from shipyard.projects.models import Project
from shipyard.sessions.models import ComputeSession
from shipyard.sessions.schemas import MountPublic, SessionEvent, SessionPublic
from shipyard.users.models import User


def present(db: Session, sessions: Sequence[ComputeSession]) -> list[SessionPublic]:
    """Four small lookups for any number of sessions (never one per session)."""
    owners = _names(db, User.id, User.email, {s.owner_id for s in sessions})
    projects = _names(db, Project.id, Project.name, {s.project_id for s in sessions})
    groups = _names(
        db, ResourceGroup.id, ResourceGroup.name, {s.resource_group_id for s in sessions}
    )
    envs = _names(db, Environment.id, Environment.name, {s.environment_id for s in sessions})
    return [
        SessionPublic(
            id=s.id,
            name=s.name,
            owner=owners.get(s.owner_id, ""),
            project=projects.get(s.project_id, ""),
            resource_group=groups.get(s.resource_group_id, ""),
            agent=s.agent_id,
            environment=envs.get(s.environment_id, ""),
            type=s.type,
            command=s.command,
            resources=s.requested,
            status=s.status,
            status_info=s.status_info,
            exit_code=s.exit_code,
            created_at=s.created_at,
            started_at=s.started_at,
            finished_at=s.finished_at,
            history=[SessionEvent.model_validate(event) for event in s.history],
            mounts=[_mount(entry) for entry in s.mounts],
        )
        for s in sessions
    ]


def _mount(entry: dict[str, Any]) -> MountPublic:
    """A stored mount entry as the owner sees it (the agent's source path stays inside)."""
    return MountPublic(
        folder_id=entry["folder_id"], name=entry["name"], read_only=entry["read_only"]
    )


def _names(
    db: Session, key: InstrumentedAttribute[Any], label: InstrumentedAttribute[str], ids: set[Any]
) -> dict[Any, str]:
    if not ids:
        return {}
    return {row[0]: row[1] for row in db.execute(select(key, label).where(key.in_(ids)))}
