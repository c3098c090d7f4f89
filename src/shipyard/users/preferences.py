"""Preferences a user keeps on the server: language, theme, session notifications, idle logout.

Every value is checked before any is stored, so a refused change leaves all of them as they
were. The idle limit ends the user's web sessions (auth.service.idle_minutes) and drives the
console's client-side logout; the server's own limit still applies when it is shorter.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from shipyard.errors import InvalidInput
from shipyard.i18n import LANGUAGES, _
from shipyard.users.models import Theme, User

IDLE_CHOICES = (15, 30, 60, 120, 240)
MIN_IDLE_MINUTES = 5
MAX_IDLE_MINUTES = 1440


@dataclass(frozen=True)
class Preferences:
    """What a user may choose; `language` None follows the browser, idle None the server."""

    language: str | None
    theme: str
    notify_session_changes: bool
    idle_logout_minutes: int | None


def of(user: User) -> Preferences:
    return Preferences(
        language=user.language,
        theme=user.theme.value,
        notify_session_changes=user.notify_session_changes,
        idle_logout_minutes=user.idle_logout_minutes,
    )


def check_language(language: str | None) -> str | None:
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(_("Choose a language from the list."), details={"field": "language"})
    return language


def check_theme(theme: str) -> Theme:
    try:
        return Theme(theme)
    except ValueError as exc:
        raise InvalidInput(_("Choose a theme from the list."), details={"field": "theme"}) from exc


def check_idle_minutes(minutes: int | None) -> int | None:
    if minutes is not None and not MIN_IDLE_MINUTES <= minutes <= MAX_IDLE_MINUTES:
        raise InvalidInput(
            _("Automatic logout takes 5 to 1440 minutes, or the server's default."),
            details={"field": "idle_logout_minutes"},
        )
    return minutes


def save(db: Session, user: User, *, preferences: Preferences) -> User:
    """Store all preferences at once, or none of them (InvalidInput names the bad field)."""
    language = check_language(preferences.language)
    theme = check_theme(preferences.theme)
    idle = check_idle_minutes(preferences.idle_logout_minutes)
    user.language = language
    user.theme = theme
    user.notify_session_changes = preferences.notify_session_changes
    user.idle_logout_minutes = idle
    db.commit()
    return user
