"""Who may change whom: the rules every user administration action goes through.

- Only a superadmin grants, changes or takes away the admin and superadmin roles, and only
  a superadmin changes anything of another administrator: name, policy, projects, status,
  password or two-factor login. An admin still manages ordinary users.
- Nobody changes their own role, deactivates themselves or resets their own password here
  (My Account asks for the current password instead).
- At least one active superadmin always remains (checked under a row lock, so two
  superadmins demoting each other at once cannot both succeed on PostgreSQL).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipyard.errors import Conflict, NotFound, PermissionDenied
from shipyard.i18n import _
from shipyard.users.models import Role, User, UserStatus
from shipyard.users.service import normalise_email


def user_by_ref(db: Session, ref: str) -> User:
    """A user by id or email, else NotFound."""
    try:
        user = db.get(User, uuid.UUID(ref))
    except ValueError:
        user = db.scalar(select(User).where(User.email == normalise_email(ref)))
    if user is None:
        raise NotFound(_("No such user."))
    return user


def check_role_change(db: Session, *, actor: User, target: User, role: Role) -> None:
    """Refuse a role change the actor may not make (nothing is written here)."""
    if role is target.role:
        return
    if actor.id == target.id:
        raise PermissionDenied(_("You cannot change your own role."), details={"field": "role"})
    if actor.role is not Role.SUPERADMIN:
        raise PermissionDenied(
            _("Only a superadmin may grant, change or take away administrator roles."),
            details={"field": "role"},
        )
    if target.role is Role.SUPERADMIN:
        check_keeps_superadmin(db, target=target)


def check_may_manage(actor: User, target: User) -> None:
    """Another administrator is a superadmin's to change, in any way."""
    if target.is_admin and actor.id != target.id and actor.role is not Role.SUPERADMIN:
        raise PermissionDenied(_("Only a superadmin may change another administrator."))


def check_status_change(db: Session, *, actor: User, target: User) -> None:
    """Refuse deactivating oneself, another admin (unless superadmin) or the last superadmin."""
    if actor.id == target.id:
        raise PermissionDenied(_("You cannot deactivate yourself."), details={"field": "status"})
    check_may_manage(actor, target)
    if target.role is Role.SUPERADMIN:
        check_keeps_superadmin(db, target=target)


def check_keeps_superadmin(db: Session, *, target: User) -> None:
    """Conflict unless another active superadmin remains once `target` stops being one."""
    others = db.scalars(
        select(User.id)
        .where(User.role == Role.SUPERADMIN, User.status == UserStatus.ACTIVE, User.id != target.id)
        .with_for_update()
    ).all()
    if not others:
        raise Conflict(_("At least one active superadmin must remain."))


def check_not_self(actor: User, target: User) -> None:
    if actor.id == target.id:
        raise PermissionDenied(
            _("Change your own password on My Account; it asks for the current one.")
        )
