"""Random bearer secrets and their digests; only digests are ever stored."""

from __future__ import annotations

import hashlib
import secrets

API_TOKEN_PREFIX = "shy_"  # noqa: S105 - a marker, not a secret


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    return secrets.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
