"""Closing every other way into an account after its password changes.

A new password must lock out whoever knew the old one: their web sessions, their API tokens
(the CLI logs in again) and any half-done two-factor login are all ended. The caller's own
web session, when it made the change, is the one thing kept.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, delete
from sqlalchemy.orm import Session

from shipyard.auth.models import ApiToken, LoginChallenge, WebSession
from shipyard.users.models import User


@dataclass(frozen=True)
class Revoked:
    """How much was ended: the user is told, and tests can check it."""

    web_sessions: int
    api_tokens: int


def revoke_other_access(db: Session, user: User, *, keep_session: uuid.UUID | None) -> Revoked:
    """End the user's web sessions except `keep_session`, all API tokens and login challenges.

    Runs in the caller's transaction (nothing is committed here), so that the new password
    and the revocation land together or not at all.
    """
    sessions = delete(WebSession).where(WebSession.user_id == user.id)
    if keep_session is not None:
        sessions = sessions.where(WebSession.id != keep_session)
    ended = _deleted(db, sessions)
    revoked = _deleted(db, delete(ApiToken).where(ApiToken.user_id == user.id))
    db.execute(delete(LoginChallenge).where(LoginChallenge.user_id == user.id))
    return Revoked(web_sessions=ended, api_tokens=revoked)


def _deleted(db: Session, statement: Delete) -> int:
    """Run a DELETE and say how many rows it removed."""
    return cast(CursorResult[Any], db.execute(statement)).rowcount
