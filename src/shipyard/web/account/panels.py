"""What the Preferences page shows: the settings form, the API token and SSH key panels.

Form fields are strings; here they become the values the services take, and services'
refusals become messages next to the field they are about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from shipyard.auth import personal_tokens, ssh_keys
from shipyard.auth.models import ApiToken, SshKey
from shipyard.config import Settings
from shipyard.errors import InvalidInput
from shipyard.i18n import _, ngettext
from shipyard.users import preferences
from shipyard.users.models import User

CUSTOM = "custom"
IDLE_FIELD = "idle_logout_minutes"


@dataclass
class TokensPanel:
    """The API tokens section; `new` is a token just created and its raw value, shown once."""

    tokens: list[ApiToken]
    lifetimes: list[tuple[str, str]]
    form: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    new: tuple[str, ApiToken] | None = None


@dataclass
class KeysPanel:
    keys: list[SshKey]
    form: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    added: SshKey | None = None


def day(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d") if moment else ""


def days_label(days: int) -> str:
    return ngettext("%(num)d day", "%(num)d days", days) % {"num": days}


def minutes_label(minutes: int) -> str:
    return ngettext("%(num)d minute", "%(num)d minutes", minutes) % {"num": minutes}


def is_expired(token: ApiToken) -> bool:
    return token.expires_at is not None and token.expires_at <= datetime.now(UTC)


# The settings form ----------------------------------------------------------------------------


def idle_choices(settings: Settings) -> list[tuple[str, str]]:
    server = minutes_label(settings.session_idle_minutes)
    default = _("Server default (%(minutes)s)") % {"minutes": server}
    standard = [(str(m), minutes_label(m)) for m in preferences.IDLE_CHOICES]
    return [("", default), *standard, (CUSTOM, _("Other…"))]


def settings_form(user: User) -> dict[str, str]:
    """The settings form as it shows the user's stored preferences."""
    minutes = user.idle_logout_minutes
    standard = minutes is None or minutes in preferences.IDLE_CHOICES
    return {
        "language": user.language or "",
        "theme": user.theme.value,
        "notify_session_changes": "on" if user.notify_session_changes else "",
        "idle_logout": "" if minutes is None else (str(minutes) if standard else CUSTOM),
        "idle_custom": "" if standard or minutes is None else str(minutes),
    }


def idle_minutes(choice: str, custom: str) -> int | None:
    """The minutes the form chose: "" is the server's default, "custom" reads the number."""
    value = (custom if choice == CUSTOM else choice).strip()
    if not value and choice != CUSTOM:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidInput(
            _("Enter the minutes as a whole number from 5 to 1440."), details={"field": IDLE_FIELD}
        ) from exc


def chosen_preferences(form: dict[str, str]) -> preferences.Preferences:
    return preferences.Preferences(
        language=form["language"],
        theme=form["theme"],
        notify_session_changes=form["notify_session_changes"] == "on",
        idle_logout_minutes=idle_minutes(form["idle_logout"], form["idle_custom"]),
    )


# API tokens and SSH keys ------------------------------------------------------------------


def new_token_form(settings: Settings) -> dict[str, str]:
    return {"name": "", "expires_in_days": str(settings.api_token_days)}


def tokens_panel(
    db: Session,
    settings: Settings,
    user: User,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    new: tuple[str, ApiToken] | None = None,
) -> TokensPanel:
    return TokensPanel(
        tokens=personal_tokens.list_tokens(db, user=user),
        lifetimes=[(str(d), days_label(d)) for d in personal_tokens.lifetimes(settings)],
        form=form or new_token_form(settings),
        errors=errors or {},
        new=new,
    )


def token_days(value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidInput(
            _("Choose how long the token lasts."), details={"field": "expires_in_days"}
        ) from exc


def keys_panel(
    db: Session,
    user: User,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    added: SshKey | None = None,
) -> KeysPanel:
    return KeysPanel(
        keys=ssh_keys.list_keys(db, user=user),
        form=form or {"name": "", "public_key": ""},
        errors=errors or {},
        added=added,
    )
