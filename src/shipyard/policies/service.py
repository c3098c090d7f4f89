"""Which limits apply: a user's or project's own policy, or the default of its kind."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shipyard.policies.models import OnQuota, PolicyKind, ResourcePolicy
from shipyard.projects.models import Project
from shipyard.users.models import User

DEFAULT_USER_SESSIONS = 10
DEFAULT_USER_PENDING = 20


def default_policy(db: Session, kind: PolicyKind) -> ResourcePolicy:
    """The default policy of a kind, created on first use: unlimited slots; for users at
    most 10 concurrent and 20 pending sessions."""
    policy = db.scalar(
        select(ResourcePolicy).where(
            ResourcePolicy.kind == kind, ResourcePolicy.is_default.is_(True)
        )
    )
    if policy is not None:
        return policy
    user_kind = kind is PolicyKind.USER
    try:
        with db.begin_nested():
            policy = ResourcePolicy(
                name="default",
                kind=kind,
                is_default=True,
                total_slots={},
                max_concurrent_sessions=DEFAULT_USER_SESSIONS if user_kind else None,
                max_pending_sessions=DEFAULT_USER_PENDING if user_kind else None,
                on_quota=OnQuota.REFUSE,
            )
            db.add(policy)
    except IntegrityError:
        return default_policy(db, kind)
    return policy


def policy_of_user(db: Session, user: User) -> ResourcePolicy:
    if user.resource_policy_id is not None:
        own = db.get(ResourcePolicy, user.resource_policy_id)
        if own is not None:
            return own
    return default_policy(db, PolicyKind.USER)


def policy_of_project(db: Session, project: Project) -> ResourcePolicy:
    if project.resource_policy_id is not None:
        own = db.get(ResourcePolicy, project.resource_policy_id)
        if own is not None:
            return own
    return default_policy(db, PolicyKind.PROJECT)


def policies_by_id(
    db: Session, kind: PolicyKind, ids: set[uuid.UUID]
) -> dict[uuid.UUID | None, ResourcePolicy]:
    """Policies for many users or projects at once; key None holds the default."""
    found: dict[uuid.UUID | None, ResourcePolicy] = {}
    if ids:
        query = select(ResourcePolicy).where(ResourcePolicy.id.in_(ids))
        found.update({policy.id: policy for policy in db.scalars(query)})
    found[None] = default_policy(db, kind)
    return found


def create_policy(
    db: Session,
    *,
    name: str,
    kind: PolicyKind,
    total_slots: dict[str, str] | None = None,
    max_concurrent_sessions: int | None = None,
    max_pending_sessions: int | None = None,
    max_session_lifetime: int | None = None,
    on_quota: OnQuota = OnQuota.REFUSE,
) -> ResourcePolicy:
    policy = ResourcePolicy(
        name=name,
        kind=kind,
        total_slots=total_slots or {},
        max_concurrent_sessions=max_concurrent_sessions,
        max_pending_sessions=max_pending_sessions,
        max_session_lifetime=max_session_lifetime,
        on_quota=on_quota,
    )
    db.add(policy)
    db.commit()
    return policy
