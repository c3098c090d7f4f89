"""Secrets kept in the database, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

The Fernet key is derived (HKDF-SHA256) from `settings.secret_key` or, where that is unset,
from a random key made once in `<data_dir>/secret-key` (0600). A database copied without
that key reveals no secret; a changed key makes stored secrets unreadable (`SecretLost`).
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shipyard.config import Settings
from shipyard.errors import InvalidInput
from shipyard.i18n import _

KEY_FILE = "secret-key"
_PURPOSE = b"shipyard database secrets v1"


def _server_secret(settings: Settings) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        _create_key_file(path)
    return path.read_bytes().strip()


def _create_key_file(path: Path) -> None:
    """Write the key whole beside `path`, then link it into place: a reader never sees a
    half-written (or empty) key, and of two managers racing the first link wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(48))
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another made it first: theirs is it
            os.link(draft, path)
    finally:
        draft.unlink()


def _fernet(settings: Settings) -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE)
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(_server_secret(settings))))


def encrypt(settings: Settings, plain: str) -> str:
    return _fernet(settings).encrypt(plain.encode()).decode()


def decrypt(settings: Settings, token: str) -> str:
    """The secret; InvalidInput when the key it was stored with is gone."""
    try:
        return _fernet(settings).decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise InvalidInput(
            _("The stored credentials cannot be read: the server's secret key changed.")
        ) from error
