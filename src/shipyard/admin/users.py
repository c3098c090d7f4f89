"""User administration: the searchable list, creating accounts and editing them.

Every change is checked against users.admin_rules before anything is written, and lands
in one transaction with its audit entries. Deactivation and password resets live in
users.admin_access.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Select, delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shipyard.admin import user_access as admin_access
from shipyard.audit.models import Action
from shipyard.audit.service import record
from shipyard.auth import passwords
from shipyard.config import Settings
from shipyard.errors import Conflict, InvalidInput, PermissionDenied
from shipyard.i18n import _
from shipyard.policies import service as policies
from shipyard.policies.models import PolicyKind, ResourcePolicy
from shipyard.projects import service as projects
from shipyard.projects.models import MemberRole, Project, ProjectMember
from shipyard.storage import mounts
from shipyard.users import rules as admin_rules
from shipyard.users.admin_schemas import (
    AdminUserCreate,
    AdminUserPublic,
    AdminUserUpdate,
    MembershipIn,
    MembershipPublic,
    PolicyRef,
)
from shipyard.users.models import Role, User, UserStatus
from shipyard.users.service import check_email, check_full_name

PAGE_SIZE = 50
T = TypeVar("T")
MAX_SEARCH = 254


@dataclass(frozen=True)
class UserFilter:
    """What the list shows: a search in email and name, a role, a status, one page."""

    search: str = ""
    role: Role | None = None
    status: UserStatus | None = None
    offset: int = 0
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class UserPage:
    users: list[AdminUserPublic]
    total: int


def _filtered(query: Select[T], spec: UserFilter) -> Select[T]:
    term = spec.search.strip().lower()[:MAX_SEARCH]
    if term:
        query = query.where(
            or_(
                User.email.contains(term, autoescape=True),
                func.lower(User.full_name).contains(term, autoescape=True),
            )
        )
    if spec.role is not None:
        query = query.where(User.role == spec.role)
    if spec.status is not None:
        query = query.where(User.status == spec.status)
    return query


def list_users(db: Session, *, spec: UserFilter) -> UserPage:
    """One page of users by email and the total that match, in a constant number of
    statements whatever the page or the data size (count, page, memberships, policies)."""
    query = _filtered(select(User), spec)
    total = db.scalar(_filtered(select(func.count(User.id)), spec)) or 0
    page = list(db.scalars(query.order_by(User.email).offset(spec.offset).limit(spec.limit)))
    return UserPage(users=present(db, page), total=total)


def present(db: Session, users: Sequence[User]) -> list[AdminUserPublic]:
    """Users with their projects and policy, in two statements for any number of users."""
    ids = [user.id for user in users]
    rows = db.execute(
        select(ProjectMember.user_id, Project.id, Project.name, ProjectMember.role)
        .join(Project, Project.id == ProjectMember.project_id)
        .where(ProjectMember.user_id.in_(ids))
        .order_by(Project.name)
    ).all()
    memberships: dict[uuid.UUID, list[MembershipPublic]] = {}
    for row in rows:
        memberships.setdefault(row[0], []).append(
            MembershipPublic(id=row[1], name=row[2], role=row[3])
        )
    wanted = {user.resource_policy_id for user in users if user.resource_policy_id}
    found = policies.policies_by_id(db, PolicyKind.USER, wanted)
    return [
        _public(user, memberships.get(user.id, []), found.get(user.resource_policy_id, found[None]))
        for user in users
    ]


def _public(
    user: User, memberships: list[MembershipPublic], policy: ResourcePolicy
) -> AdminUserPublic:
    return AdminUserPublic(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        status=user.status,
        totp_enabled=user.totp_enabled,
        created_at=user.created_at,
        projects=memberships,
        resource_policy=PolicyRef(id=policy.id, name=policy.name, is_default=policy.is_default),
    )


def show(db: Session, ref: str) -> AdminUserPublic:
    return present(db, [admin_rules.user_by_ref(db, ref)])[0]


# Choices the forms offer -------------------------------------------------------------------


def user_policies(db: Session) -> list[ResourcePolicy]:
    """The user-kind policies, the default first."""
    policies.default_policy(db, PolicyKind.USER)
    query = select(ResourcePolicy).where(ResourcePolicy.kind == PolicyKind.USER)
    return list(db.scalars(query.order_by(ResourcePolicy.is_default.desc(), ResourcePolicy.name)))


def all_projects(db: Session) -> list[Project]:
    """Active projects by name, for the membership choices."""
    query = select(Project).where(Project.is_active.is_(True)).order_by(Project.name)
    return list(db.scalars(query))


def _policy(db: Session, ref: str | None) -> ResourcePolicy | None:
    """The user policy named by id or name; None (the default) for an empty reference."""
    if not ref or not ref.strip():
        return None
    query = select(ResourcePolicy).where(ResourcePolicy.kind == PolicyKind.USER)
    try:
        found = list(db.scalars(query.where(ResourcePolicy.id == uuid.UUID(ref))))
    except ValueError:
        found = list(db.scalars(query.where(ResourcePolicy.name == ref.strip())))
    if len(found) != 1:
        message = _("No user resource policy is called %(name)s.") % {"name": ref}
        raise InvalidInput(message, details={"field": "resource_policy"})
    return None if found[0].is_default else found[0]


def _memberships(db: Session, wanted: Sequence[MembershipIn | str]) -> dict[uuid.UUID, MemberRole]:
    """Project id → role for the references given, plus the default project (always)."""
    given = [MembershipIn(project=item) if isinstance(item, str) else item for item in wanted]
    by_ref: dict[str, Project] = {}
    for active in all_projects(db):
        by_ref[str(active.id)] = by_ref[active.name] = active
    roles: dict[uuid.UUID, MemberRole] = {projects.default_project(db).id: MemberRole.MEMBER}
    for item in given:
        project = by_ref.get(item.project.strip())
        if project is None:
            message = _("No active project is called %(name)s.") % {"name": item.project}
            raise InvalidInput(message, details={"field": "projects"})
        roles[project.id] = item.role
    return roles


# Create --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    user: User
    generated_password: str | None


def create_user(db: Session, *, admin: User, spec: AdminUserCreate, settings: Settings) -> Created:
    """A new active account with its role, policy and projects; everything is checked first."""
    address = check_email(spec.email)
    name = check_full_name(spec.full_name)
    if spec.role is not Role.USER and admin.role is not Role.SUPERADMIN:
        raise PermissionDenied(
            _("Only a superadmin may grant, change or take away administrator roles."),
            details={"field": "role"},
        )
    password, generated = admin_access.new_password(spec.password, generate=spec.generate_password)
    policy = _policy(db, spec.resource_policy)
    roles = _memberships(db, spec.projects)
    if db.scalar(select(exists().where(User.email == address))):
        raise Conflict(_("A user with this email already exists."), details={"field": "email"})
    user = User(
        email=address,
        full_name=name,
        role=spec.role,
        password_hash=passwords.hash_password(settings, password),
        resource_policy_id=policy.id if policy else None,
        current_project_id=projects.default_project(db).id,
    )
    db.add(user)
    _flush_new(db)
    for project_id, role in roles.items():
        db.add(ProjectMember(project_id=project_id, user_id=user.id, role=role))
    record(
        db,
        Action.USER_CREATE,
        actor=admin,
        target_type="user",
        target_id=user.id,
        target_label=user.email,
        details={"role": user.role.value, "policy": policy.name if policy else "default"},
    )
    db.commit()
    return Created(user=user, generated_password=generated)


def _flush_new(db: Session) -> None:
    try:
        db.flush()
    except IntegrityError as exc:  # a concurrent request created the same email first
        db.rollback()
        raise Conflict(
            _("A user with this email already exists."), details={"field": "email"}
        ) from exc


# Update --------------------------------------------------------------------------------------


def update_user(db: Session, *, admin: User, ref: str, change: AdminUserUpdate) -> User:
    """Apply the fields given; every rule is checked before anything is written.

    Role and policy changes get audit entries of their own, a status change is a
    deactivation or reactivation (users.admin_access), the rest is one USER_UPDATE. Only a
    superadmin changes another administrator (fields given as they already are pass).
    """
    user = admin_rules.user_by_ref(db, ref)
    given = change.model_fields_set
    name = check_full_name(change.full_name) if change.full_name is not None else None
    if change.role is not None:
        admin_rules.check_role_change(db, actor=admin, target=user, role=change.role)
    if change.status is not None and change.status is not user.status:
        admin_rules.check_status_change(db, actor=admin, target=user)
    policy = _policy(db, change.resource_policy) if "resource_policy" in given else None
    roles = _memberships(db, change.projects) if change.projects is not None else None
    new_policy = (policy.id if policy else None) if "resource_policy" in given else None
    if _changes(db, user, change=change, name=name, policy_id=new_policy, roles=roles):
        admin_rules.check_may_manage(admin, user)

    if change.role is not None and change.role is not user.role:
        _change_role(db, admin=admin, user=user, role=change.role)
    if "resource_policy" in given:
        _change_policy(db, admin=admin, user=user, policy=policy)
    updated = _change_details(db, user=user, name=name, roles=roles)
    if updated:
        admin_access.audit(db, Action.USER_UPDATE, admin=admin, user=user, details=updated)
    if change.status is UserStatus.INACTIVE and user.is_active:
        admin_access.end_access(db, admin=admin, user=user)
    elif change.status is UserStatus.ACTIVE and not user.is_active:
        admin_access.reopen(db, admin=admin, user=user)
    db.commit()
    return user


def _changes(
    db: Session,
    user: User,
    *,
    change: AdminUserUpdate,
    name: str | None,
    policy_id: uuid.UUID | None,
    roles: dict[uuid.UUID, MemberRole] | None,
) -> bool:
    """Whether the update would change anything of `user` (the checked values as given)."""
    if name is not None and name != user.full_name:
        return True
    if change.role is not None and change.role is not user.role:
        return True
    if change.status is not None and change.status is not user.status:
        return True
    if "resource_policy" in change.model_fields_set and policy_id != user.resource_policy_id:
        return True
    if roles is None:
        return False
    current = db.execute(
        select(ProjectMember.project_id, ProjectMember.role).where(ProjectMember.user_id == user.id)
    )
    return roles != dict(current.all())


def _change_role(db: Session, *, admin: User, user: User, role: Role) -> None:
    details = {"from": user.role.value, "to": role.value}
    user.role = role
    admin_access.audit(db, Action.USER_ROLE_CHANGE, admin=admin, user=user, details=details)


def _change_policy(db: Session, *, admin: User, user: User, policy: ResourcePolicy | None) -> None:
    new_id = policy.id if policy else None
    if new_id == user.resource_policy_id:
        return
    before = policies.policy_of_user(db, user).name
    user.resource_policy_id = new_id
    details = {"from": before, "to": policy.name if policy else "default"}
    admin_access.audit(db, Action.USER_POLICY_CHANGE, admin=admin, user=user, details=details)


def _change_details(
    db: Session, *, user: User, name: str | None, roles: dict[uuid.UUID, MemberRole] | None
) -> dict[str, object]:
    """Set the name and memberships; what changed, for the audit entry (empty: nothing)."""
    changed: dict[str, object] = {}
    if name is not None and name != user.full_name:
        changed["full_name"] = {"from": user.full_name, "to": name}
        user.full_name = name
    if roles is not None:
        changed.update(_set_memberships(db, user=user, roles=roles))
    return changed


def _set_memberships(
    db: Session, *, user: User, roles: dict[uuid.UUID, MemberRole]
) -> dict[str, object]:
    current = {
        member.project_id: member
        for member in db.scalars(select(ProjectMember).where(ProjectMember.user_id == user.id))
    }
    gone = [project_id for project_id in current if project_id not in roles]
    if gone:
        db.execute(
            delete(ProjectMember).where(
                ProjectMember.user_id == user.id, ProjectMember.project_id.in_(gone)
            )
        )
        mounts.recheck(db, users=[user.id])  # their running sessions lose those folders
    added, regraded = [], []
    for project_id, role in roles.items():
        member = current.get(project_id)
        if member is None:
            db.add(ProjectMember(project_id=project_id, user_id=user.id, role=role))
            added.append(str(project_id))
        elif member.role is not role:
            member.role = role
            regraded.append(str(project_id))
    changes = {"projects_added": added, "projects_removed": [str(p) for p in gone]}
    changes["project_roles_changed"] = regraded
    return {key: value for key, value in changes.items() if value}
