"""Deactivating and reactivating accounts, and an administrator's password reset.

Deactivation ends every way in and everything running, in one transaction: the status,
the user's web sessions, API tokens and login challenges, their sessions (pending ones
cancelled, running ones told to stop through the lifecycle, so the ledger stays right and,
once it commits, their agents and the scheduler hear of it at once: sessions.effects) and
every pending folder invitation from or to them (cancelled, so none revives on
reactivation). Their folders, files and the shares they granted stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, or_, update
from sqlalchemy.orm import Session

from shipyard.audit.models import Action
from shipyard.audit.service import record
from shipyard.auth import passwords
from shipyard.auth.revocation import Revoked, revoke_other_access
from shipyard.config import Settings
from shipyard.db import utcnow
from shipyard.errors import InvalidInput
from shipyard.i18n import _
from shipyard.sessions import service as sessions
from shipyard.storage.models import FolderInvitation, InvitationState
from shipyard.users import rules as admin_rules
from shipyard.users.models import User, UserStatus


@dataclass(frozen=True)
class Deactivated:
    user: User
    sessions_ended: int
    invitations_canceled: int
    revoked: Revoked


def audit(
    db: Session, action: Action, *, admin: User, user: User, details: dict[str, Any] | None = None
) -> None:
    """An audit entry about `user` by `admin`, in db's transaction."""
    record(
        db,
        action,
        actor=admin,
        target_type="user",
        target_id=user.id,
        target_label=user.email,
        details=details,
    )


def deactivate(db: Session, *, admin: User, ref: str) -> Deactivated:
    """Deactivate a user (see the module docstring); an inactive one stays as it is."""
    user = admin_rules.user_by_ref(db, ref)
    admin_rules.check_status_change(db, actor=admin, target=user)
    if not user.is_active:
        return Deactivated(user, 0, 0, Revoked(web_sessions=0, api_tokens=0))
    done = end_access(db, admin=admin, user=user)
    db.commit()
    return done


def end_access(db: Session, *, admin: User, user: User) -> Deactivated:
    """The writes of a deactivation, in db's transaction (the caller commits)."""
    user.status = UserStatus.INACTIVE
    revoked = revoke_other_access(db, user, keep_session=None)
    ended = sessions.end_sessions_of_user(db, user, reason=_("The user was deactivated."))
    canceled = _cancel_invitations(db, user)
    details = {
        "sessions_ended": ended,
        "invitations_canceled": canceled,
        "web_sessions_ended": revoked.web_sessions,
        "api_tokens_revoked": revoked.api_tokens,
    }
    audit(db, Action.USER_DEACTIVATE, admin=admin, user=user, details=details)
    return Deactivated(user, ended, canceled, revoked)


def _cancel_invitations(db: Session, user: User) -> int:
    statement = (
        update(FolderInvitation)
        .where(
            FolderInvitation.state == InvitationState.PENDING,
            or_(
                FolderInvitation.inviter_id == user.id,
                FolderInvitation.invitee_id == user.id,
                FolderInvitation.invitee_email == user.email.lower(),  # sent before the account
            ),
        )
        .values(state=InvitationState.CANCELED, responded_at=utcnow())
    )
    return cast(CursorResult[Any], db.execute(statement)).rowcount


def activate(db: Session, *, admin: User, ref: str) -> User:
    """Make an inactive user active again; nothing else comes back."""
    user = admin_rules.user_by_ref(db, ref)
    admin_rules.check_may_manage(admin, user)
    if not user.is_active:
        reopen(db, admin=admin, user=user)
        db.commit()
    return user


def reopen(db: Session, *, admin: User, user: User) -> None:
    user.status = UserStatus.ACTIVE
    audit(db, Action.USER_ACTIVATE, admin=admin, user=user)


@dataclass(frozen=True)
class PasswordReset:
    user: User
    generated_password: str | None
    revoked: Revoked


def reset_password(
    db: Session, *, admin: User, ref: str, password: str | None, generate: bool, settings: Settings
) -> PasswordReset:
    """Set a new password (typed, or generated and returned once); every web session, API
    token and login challenge of the user ends."""
    user = admin_rules.user_by_ref(db, ref)
    admin_rules.check_not_self(admin, user)
    admin_rules.check_may_manage(admin, user)
    new, generated = new_password(password, generate=generate)
    user.password_hash = passwords.hash_password(settings, new)
    user.password_changed_at = utcnow()
    revoked = revoke_other_access(db, user, keep_session=None)
    details = {"generated": generated is not None, "web_sessions_ended": revoked.web_sessions}
    audit(db, Action.USER_PASSWORD_RESET, admin=admin, user=user, details=details)
    db.commit()
    return PasswordReset(user=user, generated_password=generated, revoked=revoked)


def new_password(password: str | None, *, generate: bool) -> tuple[str, str | None]:
    """The password to set and, when generated, the one to show once."""
    if generate:
        generated = passwords.generate_password()
        return generated, generated
    if not password:
        raise InvalidInput(
            _("Enter a password or let Shipyard generate one."), details={"field": "password"}
        )
    passwords.check_password_rules(password)
    return password, None
