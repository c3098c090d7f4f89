"""The console's second login step: the password was right, a one-time code is still owed.

The browser holds a random token in a short-lived cookie; the database keeps its digest,
the login it continues and how many codes were tried. The token alone grants nothing: only
a right code ends the challenge, and only then does the caller start a web session. After
MAX_ATTEMPTS wrong codes the challenge ends and the password has to be given again; every
wrong code also counts towards the account's login throttle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shipyard.auth import service, tokens, totp
from shipyard.auth.models import LoginChallenge
from shipyard.config import Settings
from shipyard.db import utcnow
from shipyard.errors import AuthenticationFailed, Throttled
from shipyard.i18n import _
from shipyard.users.models import User

LIFETIME = timedelta(minutes=5)
MAX_ATTEMPTS = 5


class ChallengeEnded(AuthenticationFailed):
    """The second step is over (expired, unknown or too many wrong codes): log in again."""

    code = "challenge_ended"


@dataclass(frozen=True)
class Passed:
    user: User
    next_path: str


def open_challenge(db: Session, user: User, *, next_path: str, client_address: str) -> str:
    """A new challenge for `user`; returns the raw token for the browser's cookie."""
    now = utcnow()
    db.execute(delete(LoginChallenge).where(LoginChallenge.expires_at <= now))
    raw = tokens.new_secret()
    db.add(
        LoginChallenge(
            token_hash=tokens.digest(raw),
            user_id=user.id,
            next_path=next_path[:512],
            created_at=now,
            expires_at=now + LIFETIME,
            client_address=client_address[:64],
        )
    )
    db.commit()
    return raw


def find(db: Session, raw: str | None) -> LoginChallenge | None:
    """The live challenge behind a cookie value, or None."""
    if not raw:
        return None
    found = db.scalar(select(LoginChallenge).where(LoginChallenge.token_hash == tokens.digest(raw)))
    return found if found is not None and found.expires_at > utcnow() else None


def answer(
    db: Session,
    raw: str | None,
    *,
    code: str,
    recovery: bool,
    settings: Settings,
    client_address: str,
) -> Passed:
    """The user and where they were going, once `code` is right; the challenge then ends.

    Raises ChallengeEnded (log in again), Throttled, InvalidInput (a code of the wrong
    shape: nothing counted) or AuthenticationFailed (a wrong code: counted).
    """
    challenge = find(db, raw)
    user = db.get(User, challenge.user_id) if challenge is not None else None
    if challenge is None or user is None or not user.is_active or not totp.code_due(user, settings):
        raise ChallengeEnded(_("Your login has expired. Enter your email and password again."))
    try:
        totp.verify(
            db, user, code, settings=settings, client_address=client_address, recovery=recovery
        )
    except Throttled:
        _end(db, challenge)
        raise
    except AuthenticationFailed:
        _count_attempt(db, challenge)
        raise
    passed = Passed(user=user, next_path=challenge.next_path)
    _end(db, challenge)
    service.complete_login(db, user=user, client_address=client_address)
    return passed


def _count_attempt(db: Session, challenge: LoginChallenge) -> None:
    challenge.attempts += 1
    if challenge.attempts < MAX_ATTEMPTS:
        db.commit()
        return
    _end(db, challenge)
    raise ChallengeEnded(_("Too many incorrect codes. Enter your email and password again."))


def _end(db: Session, challenge: LoginChallenge) -> None:
    db.delete(challenge)
    db.commit()
