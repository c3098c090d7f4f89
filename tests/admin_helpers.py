"""What user administration could change about a user, and states to put a target in."""

from __future__ import annotations

from dataclasses import dataclass

import pyotp
from sqlalchemy import select

from shipyard.db import Database
from shipyard.projects.models import ProjectMember
from shipyard.users.models import Role, User, UserStatus
from tests.factories import Account


@dataclass(frozen=True)
class Facts:
    """Everything an administration change could alter about a user."""

    full_name: str
    role: Role
    status: UserStatus
    policy: object
    password_hash: str
    totp_enabled: bool
    projects: frozenset[tuple[object, str]]


def facts(database: Database, account: Account) -> Facts:
    with database.session() as db:
        user = db.get(User, account.user.id)
        assert user is not None
        members = db.execute(
            select(ProjectMember.project_id, ProjectMember.role).where(
                ProjectMember.user_id == user.id
            )
        ).all()
        return Facts(
            full_name=user.full_name,
            role=user.role,
            status=user.status,
            policy=user.resource_policy_id,
            password_hash=user.password_hash,
            totp_enabled=user.totp_enabled,
            projects=frozenset((project, str(role)) for project, role in members),
        )


def with_two_factor(database: Database, account: Account) -> None:
    with database.session() as db:
        user = db.get(User, account.user.id)
        assert user is not None
        user.totp_enabled, user.totp_secret = True, pyotp.random_base32()
        db.commit()


def inactive(database: Database, account: Account) -> None:
    with database.session() as db:
        user = db.get(User, account.user.id)
        assert user is not None
        user.status = UserStatus.INACTIVE
        db.commit()
