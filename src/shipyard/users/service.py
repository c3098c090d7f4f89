"""Creating users and the first administrator."""

from __future__ import annotations

import email_validator
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shipyard.auth import passwords
from shipyard.config import Settings
from shipyard.errors import Conflict, InvalidInput
from shipyard.i18n import LANGUAGES, _
from shipyard.projects import service as projects
from shipyard.users.models import Role, Theme, User

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


def save_preferences(db: Session, *, user: User, language: str, theme: str) -> User:
    """Store the console language and theme; unknown values are refused, nothing saved."""
    if language not in LANGUAGES:
        raise InvalidInput(_("Choose a language from the list."), details={"field": "language"})
    try:
        chosen_theme = Theme(theme)
    except ValueError as exc:
        raise InvalidInput(_("Choose a theme from the list."), details={"field": "theme"}) from exc
    user.language = language
    user.theme = chosen_theme
    db.commit()
    return user
