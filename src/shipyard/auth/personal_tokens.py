"""Personal API tokens as a user manages them in Preferences: name, lifetime, revocation.

A token lives at most `settings.api_token_days` days, the lifetime `shipyard login` tokens
get; that is also the default. Shorter standard lifetimes are offered below it, and no token
lives forever: an operator who wants longer-lived tokens raises the setting.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from shipyard.auth import service as auth
from shipyard.auth.models import ApiToken
from shipyard.config import Settings
from shipyard.errors import InvalidInput, NotFound
from shipyard.i18n import _
from shipyard.users.models import User

STANDARD_DAYS = (7, 30, 90, 365)


def lifetimes(settings: Settings) -> list[int]:
    """The lifetimes (days) the console offers, shortest first; the last is the maximum."""
    longest = settings.api_token_days
    return sorted({days for days in STANDARD_DAYS if days < longest} | {longest})


def check_days(days: int | None, settings: Settings) -> int:
    """A lifetime within the server's limit; None means the longest allowed."""
    longest = settings.api_token_days
    if days is None:
        return longest
    if not 1 <= days <= longest:
        raise InvalidInput(
            _("A token can last 1 to %(days)s days.") % {"days": longest},
            details={"field": "expires_in_days"},
        )
    return days


def create_token(
    db: Session, *, user: User, name: str, days: int | None, settings: Settings
) -> tuple[str, ApiToken]:
    """A new token and its raw value, which is shown once and never stored."""
    lifetime = check_days(days, settings)
    return auth.issue_api_token(db, user=user, name=name, settings=settings, days=lifetime)


def token_of(db: Session, *, user: User, token_id: uuid.UUID) -> ApiToken:
    """One of the user's tokens; another user's token is NotFound, like a missing one."""
    token = db.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_("No such API token."))
    return token


def list_tokens(db: Session, *, user: User) -> list[ApiToken]:
    return auth.list_api_tokens(db, user=user)


def revoke_token(db: Session, *, user: User, token_id: uuid.UUID) -> ApiToken:
    """Delete the user's token; requests made with it fail from now on."""
    token = token_of(db, user=user, token_id=token_id)
    auth.revoke_api_token(db, user=user, token_id=token_id)
    return token
