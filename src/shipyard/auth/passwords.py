"""Password hashing (argon2id) and the password rules shown to users."""

from __future__ import annotations

import secrets
import string
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from shipyard.config import Settings
from shipyard.errors import InvalidInput
from shipyard.i18n import _

MIN_LENGTH = 8
MAX_LENGTH = 256
SYMBOLS = string.punctuation


@cache
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
    )


def hasher(settings: Settings) -> PasswordHasher:
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )


def hash_password(settings: Settings, password: str) -> str:
    return hasher(settings).hash(password)


def verify_password(settings: Settings, password_hash: str | None, password: str) -> bool:
    """True when the password matches; an unknown account costs one hash too (no timing oracle)."""
    ph = hasher(settings)
    try:
        return (
            ph.verify(password_hash or _dummy_hash(settings), password)
            and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(settings: Settings, password_hash: str) -> bool:
    return hasher(settings).check_needs_rehash(password_hash)


def _dummy_hash(settings: Settings) -> str:
    return _dummy(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )


@cache
def _dummy(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_kib, parallelism).hash(secrets.token_hex(16))


def check_password_rules(password: str) -> None:
    """Raise InvalidInput unless the password has 8+ characters with a letter, a digit, a symbol."""
    if len(password) < MIN_LENGTH or len(password) > MAX_LENGTH:
        raise InvalidInput(
            _("The password must have 8 to 256 characters."), details={"field": "password"}
        )
    if not (
        any(c.isalpha() for c in password)
        and any(c.isdigit() for c in password)
        and any(not c.isalnum() and not c.isspace() for c in password)
    ):
        raise InvalidInput(
            _("The password needs at least one letter, one digit and one symbol."),
            details={"field": "password"},
        )


def generate_password(length: int = 20) -> str:
    """A random password that satisfies check_password_rules."""
    alphabet = string.ascii_letters + string.digits + "-_.!@#%"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _index in range(length))
        try:
            check_password_rules(candidate)
        except InvalidInput:
            continue
        return candidate
