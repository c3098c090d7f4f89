"""Administration of project members: list, add by email, change role, remove.

Only active users can be added. Nobody can be removed from the default project, which
every user belongs to. Each change records an audit entry in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shipyard.audit import service as audit
from shipyard.audit.models import Action
from shipyard.errors import Conflict, InvalidInput, NotFound
from shipyard.i18n import _
from shipyard.projects.admin_schemas import MemberPublic
from shipyard.projects.models import DEFAULT_PROJECT, MemberRole, Project, ProjectMember
from shipyard.storage import mounts
from shipyard.users.models import User
from shipyard.users.rules import check_may_manage
from shipyard.users.service import normalise_email

PER_PAGE = 50


@dataclass(frozen=True)
class Member:
    user: User
    role: MemberRole


@dataclass(frozen=True)
class MemberPage:
    members: list[Member]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def members_of(
    db: Session, project: Project, *, page: int = 1, per_page: int = PER_PAGE
) -> MemberPage:
    """One page of the project's members by email (two statements, whatever their number)."""
    where = ProjectMember.project_id == project.id
    total = db.scalar(select(func.count()).select_from(ProjectMember).where(where)) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = db.execute(
        select(User, ProjectMember.role)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .where(where)
        .order_by(User.email)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    members = [Member(user=user, role=role) for user, role in rows]
    return MemberPage(members=members, total=total, page=page, per_page=per_page)


def present(member: Member) -> MemberPublic:
    return MemberPublic(
        user_id=member.user.id,
        email=member.user.email,
        full_name=member.user.full_name,
        role=member.role,
        active=member.user.is_active,
    )


def _membership(db: Session, project: Project, user_ref: str) -> tuple[ProjectMember, User]:
    """A member by user id or email; NotFound when they are not in the project."""
    query = select(ProjectMember, User).join(User, User.id == ProjectMember.user_id)
    query = query.where(ProjectMember.project_id == project.id)
    try:
        query = query.where(User.id == uuid.UUID(user_ref))
    except ValueError:
        query = query.where(User.email == normalise_email(user_ref))
    found = db.execute(query).first()
    if found is None:
        raise NotFound(
            _("%(who)s is not a member of %(project)s.")
            % {"who": user_ref[:254], "project": project.name},
            details={"field": "email"},
        )
    return found


def add_member(
    db: Session, *, admin: User, project: Project, email: str, role: MemberRole
) -> Member:
    """Add an active user, found by email, with `role`."""
    address = normalise_email(email)
    user = db.scalar(select(User).where(User.email == address)) if address else None
    if user is None or not user.is_active:
        raise InvalidInput(
            _("No active user has the email %(email)s.") % {"email": address[:254] or "—"},
            details={"field": "email"},
        )
    check_may_manage(admin, user)
    if db.get(ProjectMember, (project.id, user.id)) is not None:
        raise Conflict(
            _("%(email)s is already a member of %(project)s.")
            % {"email": user.email, "project": project.name},
            details={"field": "email"},
        )
    db.add(ProjectMember(project_id=project.id, user_id=user.id, role=role))
    _record(db, Action.PROJECT_MEMBER_ADD, admin, project, user, {"role": role.value})
    db.commit()
    return Member(user=user, role=role)


def change_role(
    db: Session, *, admin: User, project: Project, user_ref: str, role: MemberRole
) -> Member:
    membership, user = _membership(db, project, user_ref)
    check_may_manage(admin, user)
    if membership.role is not role:
        details = {"from": membership.role.value, "to": role.value}
        membership.role = role
        _record(db, Action.PROJECT_MEMBER_ROLE, admin, project, user, details)
    db.commit()
    return Member(user=user, role=role)


def remove_member(db: Session, *, admin: User, project: Project, user_ref: str) -> User:
    """Remove a member; never from the default project. Their running sessions keep running
    but lose the project's folders at once."""
    membership, user = _membership(db, project, user_ref)
    check_may_manage(admin, user)
    if project.name == DEFAULT_PROJECT:
        raise Conflict(
            _("Every user belongs to the default project; nobody can be removed from it.")
        )
    db.delete(membership)
    _record(db, Action.PROJECT_MEMBER_REMOVE, admin, project, user, {"role": membership.role.value})
    mounts.recheck(db, users=[user.id])  # their running sessions lose the project's folders
    db.commit()
    return user


def _record(
    db: Session, action: Action, admin: User, project: Project, user: User, details: dict[str, str]
) -> None:
    audit.record(
        db,
        action,
        actor=admin,
        target_type="project",
        target_id=project.id,
        target_label=project.name,
        details={"user": user.email, **details},
    )
