"""Test doubles and shortcuts for two-factor login: a clock that stands still, codes from it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyotp
import pytest
from sqlalchemy.orm import Session

from shipyard.auth import totp
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.users.models import User

STEP = totp.STEP_SECONDS


@dataclass
class FakeClock:
    """Stands in for `totp.clock`: still, in the middle of a 30-second step, until tick()."""

    now: float = field(default_factory=lambda: (time.time() // STEP) * STEP + STEP / 2)

    def __call__(self) -> float:
        return self.now

    def tick(self, steps: int = 1) -> None:
        self.now += steps * STEP

    def code(self, secret: str, *, steps: int = 0) -> str:
        """The code of `secret` for the current step, or `steps` away from it."""
        return pyotp.TOTP(secret).at(self.now + steps * STEP)


def load(db: Session, user: User) -> User:
    """`user` as the database has it now (merge would write a stale copy back)."""
    found = db.get(User, user.id)
    assert found is not None
    return found


def install_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock()
    monkeypatch.setattr(totp, "clock", clock)
    return clock


def turn_on(database: Database, settings: Settings, user: User, clock: FakeClock) -> str:
    """Two-factor login set up for `user` as the dialog does it; returns the secret.

    The clock moves on one step, so that the next code has not been used yet.
    """
    with database.session() as db:
        mine = load(db, user)
        enrolment = totp.begin_setup(db, mine, settings=settings)
        totp.confirm_setup(db, mine, code=clock.code(enrolment.secret), settings=settings)
    clock.tick()
    return enrolment.secret


def recovery_codes(database: Database, user: User) -> list[str]:
    """Fresh recovery codes for `user` (the ones shown at activation are not kept)."""
    with database.session() as db:
        return totp.issue_recovery_codes(db, load(db, user))
