"""SSH public keys a user keeps for later SSH access to their sessions.

A key is one OpenSSH line, ``TYPE BASE64 [COMMENT]``. The blob is read in the SSH wire
format (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709) and must agree with TYPE:

    ssh-ed25519                   a 32-byte public key
    ecdsa-sha2-nistp256/384/521   the matching curve name and an uncompressed point on it
    ssh-rsa                       an odd exponent and a modulus of 2048 to 16384 bits

Every other type (DSA, security keys, certificates) is declined. The fingerprint is
``SHA256:`` and the unpadded base64 SHA-256 of the blob, as ``ssh-keygen -l`` shows it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shipyard.auth.models import SshKey
from shipyard.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from shipyard.i18n import _
from shipyard.users.models import User

MAX_LINE = 16384
MAX_NAME = 64
MAX_COMMENT = 255
MAX_KEYS = 100
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 16384
ED25519 = "ssh-ed25519"
RSA = "ssh-rsa"

# NIST curves y² = x³ - 3x + b (mod p), by SSH name: (p, b, coordinate bytes).
CURVES: dict[str, tuple[int, int, int]] = {
    "nistp256": (
        2**256 - 2**224 + 2**192 + 2**96 - 1,
        int("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b", 16),
        32,
    ),
    "nistp384": (
        2**384 - 2**128 - 2**96 + 2**32 - 1,
        int(
            "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875a"
            "c656398d8a2ed19d2a85c8edd3ec2aef",
            16,
        ),
        48,
    ),
    "nistp521": (
        2**521 - 1,
        int(
            "0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef1"
            "09e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
            16,
        ),
        66,
    ),
}
ECDSA_PREFIX = "ecdsa-sha2-"
SUPPORTED = (ED25519, *(ECDSA_PREFIX + curve for curve in CURVES), RSA)


class Malformed(ValueError):
    """The blob is not a well-formed key of its type (the caller words the message)."""


@dataclass(frozen=True)
class PublicKey:
    """A parsed public key: its type, wire-format blob and comment."""

    kind: str
    blob: bytes
    comment: str

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.blob).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")

    @property
    def line(self) -> str:
        """The key as an authorized_keys line (type, base64 blob and comment)."""
        encoded = base64.b64encode(self.blob).decode("ascii")
        return f"{self.kind} {encoded} {self.comment}".rstrip()


class _Reader:
    """Reads SSH wire-format strings and mpints from a blob."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def string(self) -> bytes:
        end_of_size = self.pos + 4
        if end_of_size > len(self.data):
            raise Malformed("truncated length")
        end = end_of_size + int.from_bytes(self.data[self.pos : end_of_size], "big")
        if end > len(self.data):
            raise Malformed("truncated value")
        self.pos = end
        return self.data[end_of_size:end]

    def mpint(self) -> int:
        raw = self.string()
        if raw and raw[0] & 0x80:
            raise Malformed("negative integer")
        return int.from_bytes(raw, "big")

    def finish(self) -> None:
        if self.pos != len(self.data):
            raise Malformed("trailing bytes")


def _check_ed25519(reader: _Reader) -> None:
    if len(reader.string()) != 32:
        raise Malformed("an ed25519 key has 32 bytes")


def _check_ecdsa(reader: _Reader, curve: str) -> None:
    if reader.string() != curve.encode("ascii"):
        raise Malformed("curve does not match the key type")
    p, b, size = CURVES[curve]
    point = reader.string()
    if len(point) != 1 + 2 * size or point[0] != 4:
        raise Malformed("not an uncompressed point")
    x = int.from_bytes(point[1 : 1 + size], "big")
    y = int.from_bytes(point[1 + size :], "big")
    if x >= p or y >= p or (y * y - (x * x * x - 3 * x + b)) % p:
        raise Malformed("point not on the curve")


def _check_rsa(reader: _Reader) -> None:
    exponent = reader.mpint()
    modulus = reader.mpint()
    if exponent < 3 or exponent % 2 == 0 or modulus % 2 == 0:
        raise Malformed("not an RSA public key")
    bits = modulus.bit_length()
    if bits < MIN_RSA_BITS:
        raise InvalidInput(
            _("This RSA key has %(bits)s bits; use one of at least 2048 bits, or ed25519.")
            % {"bits": bits},
            details={"field": "public_key"},
        )
    if bits > MAX_RSA_BITS:
        raise Malformed("modulus too large")


def _check_blob(kind: str, blob: bytes) -> None:
    reader = _Reader(blob)
    if reader.string() != kind.encode("ascii"):
        raise Malformed("the blob names another key type")
    if kind == ED25519:
        _check_ed25519(reader)
    elif kind == RSA:
        _check_rsa(reader)
    else:
        _check_ecdsa(reader, kind.removeprefix(ECDSA_PREFIX))
    reader.finish()


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, details={"field": "public_key"})


def _decode(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid(_("The key's data is damaged. Paste the whole line again.")) from exc


def parse_public_key(text: str) -> PublicKey:
    """The key in one OpenSSH public key line, or InvalidInput saying what is wrong with it."""
    line = text.strip()
    if not line:
        raise _invalid(_("Paste a public key."))
    if "PRIVATE KEY" in line:
        raise _invalid(_("This is a private key. Paste the public key (the .pub file) instead."))
    if "\n" in line or "\r" in line:
        raise _invalid(_("Paste one public key, on a single line."))
    if len(line) > MAX_LINE:
        raise _invalid(_("This is too long for a public key."))
    kind, _sep, rest = line.partition(" ")
    if kind not in SUPPORTED:
        raise _invalid(
            _("Not a supported public key. Use ed25519, ECDSA or RSA (2048 bits or more).")
        )
    encoded, _sep, comment = rest.strip().partition(" ")
    blob = _decode(encoded)
    try:
        _check_blob(kind, blob)
    except Malformed as exc:
        raise _invalid(_("The key's data is damaged. Paste the whole line again.")) from exc
    return PublicKey(kind=kind, blob=blob, comment=" ".join(comment.split())[:MAX_COMMENT])


def _key_name(name: str, key: PublicKey) -> str:
    chosen = " ".join(name.split()) or key.comment[:MAX_NAME] or key.kind
    if len(chosen) > MAX_NAME:
        raise InvalidInput(
            _("A key name can have at most 64 characters."), details={"field": "name"}
        )
    return chosen


def _refuse_duplicate(db: Session, user: User, key: PublicKey) -> None:
    same = db.scalar(
        select(SshKey).where(SshKey.user_id == user.id, SshKey.fingerprint == key.fingerprint)
    )
    if same is not None:
        raise Conflict(
            _("This key is already in your list, as %(name)s.") % {"name": same.name},
            details={"field": "public_key"},
        )


def _refuse_too_many(db: Session, user: User) -> None:
    count = db.scalar(select(func.count()).where(SshKey.user_id == user.id)) or 0
    if count >= MAX_KEYS:
        raise QuotaExceeded(
            _("You can keep at most %(count)s SSH keys. Delete one first.") % {"count": MAX_KEYS},
            details={"field": "public_key"},
        )


def add_key(db: Session, *, user: User, public_key: str, name: str = "") -> SshKey:
    """Store a valid key for the user; the name defaults to the key's comment, else its type."""
    key = parse_public_key(public_key)
    chosen = _key_name(name, key)
    _refuse_duplicate(db, user, key)
    _refuse_too_many(db, user)
    row = SshKey(user_id=user.id, name=chosen, public_key=key.line, fingerprint=key.fingerprint)
    db.add(row)
    try:
        db.commit()
    except IntegrityError as exc:  # the same key added by a concurrent request
        db.rollback()
        raise Conflict(
            _("This key is already in your list."), details={"field": "public_key"}
        ) from exc
    return row


def list_keys(db: Session, *, user: User) -> list[SshKey]:
    return list(
        db.scalars(select(SshKey).where(SshKey.user_id == user.id).order_by(SshKey.created_at))
    )


def key_of(db: Session, *, user: User, key_id: uuid.UUID) -> SshKey:
    """One of the user's keys; another user's key is NotFound, like a missing one."""
    key = db.get(SshKey, key_id)
    if key is None or key.user_id != user.id:
        raise NotFound(_("No such SSH key."))
    return key


def delete_key(db: Session, *, user: User, key_id: uuid.UUID) -> SshKey:
    key = key_of(db, user=user, key_id=key_id)
    db.delete(key)
    db.commit()
    return key
