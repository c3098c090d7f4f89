"""Users: creating them (and the first administrator), and changing one's own account."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import email_validator
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shipyard.audit.models import Action
from shipyard.audit.service import record
from shipyard.auth import passwords, throttle
from shipyard.auth.revocation import Revoked, revoke_other_access
from shipyard.config import Settings
from shipyard.db import utcnow
from shipyard.errors import Conflict, InvalidInput
from shipyard.i18n import _
from shipyard.projects import service as projects
from shipyard.users.models import Role, User

MAX_NAME = 64

# Self-hosted sites use intranet names; the library documents trimming this list for that.
for _allowed in ("local", "localhost", "internal", "lan"):
    if _allowed in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_allowed)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> str:
    """The normalised address, or InvalidInput; local names such as *.local are allowed."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(_("Enter a valid email address."), details={"field": "email"}) from exc
    return normalise_email(checked.normalized)


def check_full_name(full_name: str) -> str:
    name = full_name.strip()
    if len(name) > MAX_NAME:
        raise InvalidInput(
            _("The full name can have at most 64 characters."), details={"field": "full_name"}
        )
    return name


def check_account_name(full_name: str) -> str:
    """A user's own name: 1 to 64 characters once trimmed."""
    name = check_full_name(full_name)
    if not name:
        raise InvalidInput(
            _("Enter your full name (1 to 64 characters)."), details={"field": "full_name"}
        )
    return name


def create_user(
    db: Session,
    *,
    email: str,
    password: str,
    settings: Settings,
    full_name: str = "",
    role: Role = Role.USER,
) -> User:
    """A new active user, member of the default project, with the project selected."""
    address = check_email(email)
    name = check_full_name(full_name)
    passwords.check_password_rules(password)
    if db.scalar(select(exists().where(User.email == address))):
        raise Conflict(_("A user with this email already exists."), details={"field": "email"})
    user = User(
        email=address,
        full_name=name,
        role=role,
        password_hash=passwords.hash_password(settings, password),
    )
    db.add(user)
    try:
        db.flush()
    except IntegrityError as exc:  # a concurrent request created the same email first
        db.rollback()
        raise Conflict(
            _("A user with this email already exists."), details={"field": "email"}
        ) from exc
    project = projects.default_project(db)
    projects.add_member(db, project=project, user=user)
    user.current_project_id = project.id
    db.commit()
    return user


def count_users(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(User)) or 0


def ensure_first_admin(db: Session, *, settings: Settings) -> str | None:
    """Create the superadmin when there are no users; return its password if generated here."""
    if count_users(db):
        return None
    generated = None if settings.admin_password else passwords.generate_password()
    create_user(
        db,
        email=settings.admin_email,
        password=settings.admin_password or generated or "",
        settings=settings,
        full_name="Administrator",
        role=Role.SUPERADMIN,
    )
    return generated


@dataclass(frozen=True)
class PasswordChange:
    """A request to change one's own password, as typed, and where it came from.

    `again` is None where the caller has no confirmation field (the API); `keep_session` is
    the web session that stays logged in (the one making the change), if any.
    """

    current: str
    new: str
    again: str | None
    client_address: str
    keep_session: uuid.UUID | None


def rename_account(db: Session, user: User, *, full_name: str) -> User:
    user.full_name = check_account_name(full_name)
    db.commit()
    return user


def change_password(
    db: Session, user: User, *, change: PasswordChange, settings: Settings
) -> Revoked:
    """Set a new password; every other way into the account ends (see auth.revocation)."""
    _check_password_change(db, user, change=change, settings=settings)
    revoked = _apply_password(db, user, change=change, settings=settings)
    db.commit()
    return revoked


def update_account(
    db: Session,
    user: User,
    *,
    full_name: str,
    change: PasswordChange | None,
    settings: Settings,
) -> Revoked | None:
    """The My Account form: a new name, and a new password when one is given.

    Everything is checked before anything is written, so a refusal changes nothing.
    Returns what the password change revoked, or None when the password stayed.
    """
    name = check_account_name(full_name)
    if change is not None:
        _check_password_change(db, user, change=change, settings=settings)
    user.full_name = name
    revoked = _apply_password(db, user, change=change, settings=settings) if change else None
    db.commit()
    return revoked


def _check_password_change(
    db: Session, user: User, *, change: PasswordChange, settings: Settings
) -> None:
    """Refuse a weak or unconfirmed new password, then a wrong current one (throttled)."""
    if not change.new:
        raise InvalidInput(_("Enter the new password."), details={"field": "new_password"})
    try:
        passwords.check_password_rules(change.new)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, details={"field": "new_password"}) from exc
    if change.again is not None and change.again != change.new:
        raise InvalidInput(
            _("The new passwords do not match."), details={"field": "new_password_again"}
        )
    if not change.current:
        raise InvalidInput(
            _("Enter your original password to change it."),
            details={"field": "current_password"},
        )
    if change.new == change.current:
        raise InvalidInput(
            _("The new password must differ from the original one."),
            details={"field": "new_password"},
        )
    _verify_current(db, user, change=change, settings=settings)


def _verify_current(db: Session, user: User, *, change: PasswordChange, settings: Settings) -> None:
    """Guesses at the current password count towards the account's login throttle."""
    email, address = user.email, change.client_address
    failures = throttle.check(db, email=email, client_address=address, settings=settings)
    if not passwords.verify_password(settings, user.password_hash, change.current):
        throttle.record_failure(db, email=email, client_address=address, settings=settings)
        db.commit()
        raise InvalidInput(
            _("The original password is not correct."), details={"field": "current_password"}
        )
    if failures:
        throttle.forget(db, email=email, client_address=address)


def _apply_password(
    db: Session, user: User, *, change: PasswordChange, settings: Settings
) -> Revoked:
    user.password_hash = passwords.hash_password(settings, change.new)
    user.password_changed_at = utcnow()
    record(
        db,
        Action.PASSWORD_CHANGE,
        actor=user,
        target_type="user",
        target_id=user.id,
        target_label=user.email,
    )
    return revoke_other_access(db, user, keep_session=change.keep_session)
