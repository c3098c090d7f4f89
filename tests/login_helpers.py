"""Test doubles for login hardening: a counter of argon2 verifications, a recorder of waits."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from shipyard.auth import service as auth_service


def count_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification the server runs from now on (the hash it checked)."""
    seen: list[str] = []
    original = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        seen.append(str(hash))
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return seen


def record_pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The slowdowns logins wait from now on, recorded instead of slept."""
    waited: list[float] = []

    async def record(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(auth_service, "pause", record)
    return waited
