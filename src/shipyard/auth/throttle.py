"""Login throttling per account and per client address, from recorded failures."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shipyard.auth.models import LoginFailure
from shipyard.config import Settings
from shipyard.db import utcnow
from shipyard.errors import Throttled
from shipyard.i18n import ngettext


def check(db: Session, *, email: str, client_address: str, settings: Settings) -> int:
    """Raise Throttled while the account or the address has too many recent failures.

    Returns the account's recent failure count (0 lets a successful login skip the reset).
    """
    now = utcnow()
    since = now - timedelta(minutes=settings.login_window_minutes)
    counts = []
    for column, value, limit in (
        (LoginFailure.email, email, settings.login_max_failures_per_account),
        (LoginFailure.client_address, client_address, settings.login_max_failures_per_address),
    ):
        count, oldest = db.execute(
            select(func.count(), func.min(LoginFailure.at)).where(
                column == value, LoginFailure.at >= since
            )
        ).one()
        if count >= limit and oldest is not None:
            _refuse(oldest=oldest, now=now, settings=settings)
        counts.append(count)
    return int(counts[0])


def _refuse(*, oldest: datetime, now: datetime, settings: Settings) -> None:
    until = oldest + timedelta(minutes=settings.login_window_minutes)
    seconds = max(1, math.ceil((until - now).total_seconds()))
    minutes = max(1, math.ceil(seconds / 60))
    raise Throttled(
        ngettext(
            "Too many failed login attempts. Try again in %(num)d minute.",
            "Too many failed login attempts. Try again in %(num)d minutes.",
            minutes,
        )
        % {"num": minutes},
        retry_after=seconds,
    )


def record_failure(db: Session, *, email: str, client_address: str, settings: Settings) -> None:
    """Remember one failure; rows older than the window no longer count and are pruned."""
    horizon = utcnow() - timedelta(minutes=settings.login_window_minutes)
    db.execute(delete(LoginFailure).where(LoginFailure.at < horizon))
    db.add(LoginFailure(email=email, client_address=client_address))


def forget_account(db: Session, *, email: str) -> None:
    """After a successful login the account starts afresh (its address keeps its count)."""
    db.execute(delete(LoginFailure).where(LoginFailure.email == email))
