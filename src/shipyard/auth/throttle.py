"""Login throttling from recorded failures: it slows attackers and never locks the user out.

Three rules, each over the failures of the last `login_window_minutes`:

- one account from one address: after `login_max_failures_per_account` failures that pair
  waits `login_backoff_seconds`, doubled by every further failure (at most the window);
  while it waits its attempts are refused (Throttled) without looking at the password;
- one address, whatever the accounts: after `login_max_failures_per_address` failures it
  waits until its oldest failure leaves the window (password spraying);
- one account from every address: after `login_slowdown_after` failures each attempt at it
  is delayed (`slowdown`), up to `login_slowdown_max_seconds`, but never refused: the right
  password from an address without failures always logs in.
"""

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

# Doublings of the backoff beyond which the window caps it anyway (keeps 2**n small).
MAX_DOUBLINGS = 20
# The slowdown reaches its maximum this many failures after it starts (halving before).
SLOWDOWN_STEPS = 4


def check(db: Session, *, email: str, client_address: str, settings: Settings) -> int:
    """Raise Throttled while this account and address pair, or this address, must wait.

    Returns the pair's recent failure count (0 lets a successful login skip `forget`).
    """
    now = utcnow()
    since = now - timedelta(minutes=settings.login_window_minutes)
    pair, last = db.execute(
        select(func.count(), func.max(LoginFailure.at)).where(
            LoginFailure.email == email,
            LoginFailure.client_address == client_address,
            LoginFailure.at >= since,
        )
    ).one()
    if pair >= settings.login_max_failures_per_account and last is not None:
        until = last + _backoff(pair, settings)
        if now < until:
            _refuse(until=until, now=now)
    spread, oldest = db.execute(
        select(func.count(), func.min(LoginFailure.at)).where(
            LoginFailure.client_address == client_address, LoginFailure.at >= since
        )
    ).one()
    if spread >= settings.login_max_failures_per_address and oldest is not None:
        _refuse(until=oldest + timedelta(minutes=settings.login_window_minutes), now=now)
    return int(pair)


def _backoff(failures: int, settings: Settings) -> timedelta:
    """How long a pair with `failures` recent failures waits after its last one."""
    doublings = min(failures - settings.login_max_failures_per_account, MAX_DOUBLINGS)
    seconds = settings.login_backoff_seconds * 2**doublings
    return timedelta(seconds=min(seconds, settings.login_window_minutes * 60))


def _refuse(*, until: datetime, now: datetime) -> None:
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


def slowdown(db: Session, *, email: str, settings: Settings) -> float:
    """Seconds to wait before an attempt at this account: 0 until many addresses failed on it.

    Every address counts, so this slows a distributed guesser down; it never refuses.
    """
    since = utcnow() - timedelta(minutes=settings.login_window_minutes)
    failures = db.scalar(
        select(func.count()).where(LoginFailure.email == email, LoginFailure.at >= since)
    )
    beyond = (failures or 0) - settings.login_slowdown_after
    if beyond < 0:
        return 0.0
    return float(settings.login_slowdown_max_seconds * 2.0 ** min(0, beyond - SLOWDOWN_STEPS))


def record_failure(db: Session, *, email: str, client_address: str, settings: Settings) -> None:
    """Remember one failure; rows older than the window no longer count and are pruned."""
    horizon = utcnow() - timedelta(minutes=settings.login_window_minutes)
    db.execute(delete(LoginFailure).where(LoginFailure.at < horizon))
    db.add(LoginFailure(email=email, client_address=client_address))


def forget(db: Session, *, email: str, client_address: str) -> None:
    """After a successful login this address starts afresh for this account.

    Failures from other addresses stay: they still slow those addresses down (and the
    account's slowdown), so an attacker gains nothing from the real user logging in.
    """
    db.execute(
        delete(LoginFailure).where(
            LoginFailure.email == email, LoginFailure.client_address == client_address
        )
    )
