"""Two-factor login with time-based one-time passwords (RFC 6238) and recovery codes.

A code is accepted for the current 30-second step or one step either side (clock drift),
and only for a step later than the last one accepted (`users.totp_last_step`), so a code
never works twice. Recovery codes are stored as digests and each works once.

With `totp_available = false` two-factor login is hidden entirely: nobody can turn it on,
and users who had it on log in with their password alone until it is available again
(their secret stays, so nothing has to be set up anew). `totp_required_for_admins` is kept
by the console only: an admin without 2FA is sent to its setup before any other page,
while the API (and so the CLI) keeps working for them with the password alone.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from shipyard.audit.models import Action
from shipyard.audit.service import record
from shipyard.auth import throttle, tokens
from shipyard.auth.models import RecoveryCode
from shipyard.config import Settings
from shipyard.db import utcnow
from shipyard.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, Throttled
from shipyard.i18n import _
from shipyard.users import rules as admin_rules
from shipyard.users.models import User

log = logging.getLogger(__name__)

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes
_RECOVERY_SHAPE = re.compile(r"[a-z0-9]{12}")

clock: Callable[[], float] = time.time  # seconds since the epoch; tests put a fake in


class OtpRequired(AuthenticationFailed):
    """The password was right; a one-time password must come with it."""

    code = "otp_required"


@dataclass(frozen=True)
class Enrolment:
    """A secret waiting for its first code, and the otpauth URI an authenticator app scans."""

    secret: str
    uri: str

    @property
    def grouped(self) -> str:
        """The key in groups of four, as it is easiest to type by hand."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))

    @property
    def grouped_lines(self) -> str:
        """The grouped key on lines of four groups, to fit a phone's screen."""
        groups = self.grouped.split(" ")
        return "\n".join(" ".join(groups[i : i + 4]) for i in range(0, len(groups), 4))


def code_due(user: User, settings: Settings) -> bool:
    """Whether logging in as `user` takes a one-time password after the password."""
    return settings.totp_available and user.totp_enabled and user.totp_secret is not None


def required_of(user: User, settings: Settings) -> bool:
    """Whether the server requires two-factor login of `user` (`totp_required_for_admins`)."""
    return settings.totp_available and settings.totp_required_for_admins and user.is_admin


def setup_due(user: User, settings: Settings) -> bool:
    """An admin who must turn two-factor login on before using the console."""
    return required_of(user, settings) and not user.totp_enabled


def require_available(settings: Settings) -> None:
    if not settings.totp_available:
        raise NotFound(_("Two-factor login is not available on this server."))


# Setting up and turning off -----------------------------------------------------------------


def begin_setup(db: Session, user: User, *, settings: Settings) -> Enrolment:
    """The pending secret (made now if there is none) and its otpauth URI."""
    require_available(settings)
    if user.totp_enabled:
        raise Conflict(_("Two-factor login is already on."))
    if user.totp_pending_secret is None:
        user.totp_pending_secret = pyotp.random_base32()
        db.commit()
    uri = pyotp.TOTP(user.totp_pending_secret).provisioning_uri(
        name=user.email, issuer_name=settings.totp_issuer
    )
    return Enrolment(secret=user.totp_pending_secret, uri=uri)


def confirm_setup(db: Session, user: User, *, code: str, settings: Settings) -> list[str]:
    """Turn two-factor login on with a first valid code; returns the recovery codes (once)."""
    require_available(settings)
    if user.totp_enabled:
        raise Conflict(_("Two-factor login is already on."))
    if user.totp_pending_secret is None:
        raise Conflict(_("Start the setup again: turn the 2FA Enabled switch on."))
    step = _matching_step(user.totp_pending_secret, read_otp(code))
    if step is None:
        raise InvalidInput(
            _("Incorrect code. Check that your phone's clock is right and try again."),
            details={"field": "code"},
        )
    user.totp_secret, user.totp_pending_secret = user.totp_pending_secret, None
    user.totp_enabled, user.totp_last_step = True, step
    _record(db, Action.TWO_FACTOR_ENABLE, actor=user, user=user)
    return issue_recovery_codes(db, user)


def disable(
    db: Session,
    user: User,
    *,
    code: str,
    settings: Settings,
    client_address: str = "",
) -> None:
    """Turn two-factor login off; a current code (or a recovery code) proves it is the owner."""
    require_available(settings)
    if not user.totp_enabled:
        raise Conflict(_("Two-factor login is already off."))
    try:
        verify(db, user, code, settings=settings, client_address=client_address, recovery=True)
    except AuthenticationFailed as exc:  # the caller is logged in: a wrong code is bad input
        raise InvalidInput(exc.message, details=exc.details) from exc
    _clear(db, user)
    _record(db, Action.TWO_FACTOR_DISABLE, actor=user, user=user)
    db.commit()


def reset(db: Session, ref: str, *, by: User) -> User:
    """An admin turns off a user's two-factor login (lost phone); logged with who did it.

    Another administrator's is a superadmin's to reset (users.admin_rules).
    """
    user = admin_rules.user_by_ref(db, ref)
    admin_rules.check_may_manage(by, user)
    _clear(db, user)
    _record(db, Action.TWO_FACTOR_RESET, actor=by, user=user)
    db.commit()
    log.info("two-factor login of %s (%s) reset by %s", user.email, user.id, by.email)
    return user


def _record(db: Session, action: Action, *, actor: User, user: User) -> None:
    record(db, action, actor=actor, target_type="user", target_id=user.id, target_label=user.email)


def _clear(db: Session, user: User) -> None:
    user.totp_enabled = False
    user.totp_secret = user.totp_pending_secret = None
    user.totp_last_step = None
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# Checking codes -----------------------------------------------------------------------------


def verify(
    db: Session,
    user: User,
    code: str,
    *,
    settings: Settings,
    client_address: str,
    recovery: bool = False,
) -> None:
    """Accept a one-time password (or, with `recovery`, a recovery code) for `user`.

    Raises InvalidInput for a code of the wrong shape (nothing counted), Throttled while
    this account and address must wait, AuthenticationFailed for a wrong or reused code
    (counted as a failed login). Wrong codes and throttled attempts are audited with the
    address. Commits what it records.
    """
    email = user.email
    try:
        throttle.check(db, email=email, client_address=client_address, settings=settings)
    except Throttled:
        _record_failure(db, user, reason="throttled", client_address=client_address)
        db.commit()
        raise
    use_recovery = recovery and not _looks_like_otp(code)
    try:
        if use_recovery:
            _use_recovery_code(db, user, code)
        else:
            _use_otp(db, user, read_otp(code, recovery=recovery))
    except AuthenticationFailed:
        throttle.record_failure(db, email=email, client_address=client_address, settings=settings)
        reason = "recovery_code" if use_recovery else "otp"
        _record_failure(db, user, reason=reason, client_address=client_address)
        db.commit()
        raise
    db.commit()


def _record_failure(db: Session, user: User, *, reason: str, client_address: str) -> None:
    """A wrong code or a throttled one in the audit log, as a failed login of `user`."""
    record(
        db,
        Action.LOGIN_FAILED,
        actor=None,
        actor_email=user.email,
        target_type="user",
        target_id=user.id,
        target_label=user.email,
        details={"reason": reason},
        success=False,
        address=client_address,
    )


def read_otp(text: str, *, recovery: bool = False) -> str:
    """The six digits of a typed one-time password (spaces allowed), or InvalidInput."""
    digits = re.sub(r"\s", "", text)
    if digits.isascii() and digits.isdigit() and len(digits) == DIGITS:
        return digits
    if digits.isascii() and digits.isdigit():
        message = _("A one-time password has 6 digits.")
    elif recovery:
        message = _("Enter the 6-digit code from your authenticator app, or a recovery code.")
    else:
        message = _("Enter the 6 digits your authenticator app shows.")
    raise InvalidInput(message, details={"field": "code"})


def _looks_like_otp(text: str) -> bool:
    stripped = re.sub(r"\s", "", text)
    return stripped.isascii() and stripped.isdigit()


def _use_otp(db: Session, user: User, digits: str) -> None:
    """Accept `digits` once: the step is recorded only if it is later than the last one."""
    step = _matching_step(user.totp_secret, digits) if user.totp_secret else None
    if step is None:
        raise AuthenticationFailed(_("Incorrect one-time password."), details={"field": "code"})
    later = (User.totp_last_step.is_(None)) | (User.totp_last_step < step)
    recorded = db.execute(update(User).where(User.id == user.id, later).values(totp_last_step=step))
    if recorded.rowcount != 1:  # type: ignore[attr-defined]
        raise AuthenticationFailed(
            _("This one-time password was already used. Wait for the next one."),
            details={"field": "code"},
        )


def _matching_step(secret: str, digits: str) -> int | None:
    """The time step (current one, or one either side) whose code is `digits`."""
    totp = pyotp.TOTP(secret)
    now = int(clock() // STEP_SECONDS)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


# Recovery codes -----------------------------------------------------------------------------


def issue_recovery_codes(db: Session, user: User) -> list[str]:
    """Fresh recovery codes replacing any earlier ones; only their digests are kept."""
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    db.add_all(
        RecoveryCode(user_id=user.id, code_hash=tokens.digest(_normalise(code))) for code in codes
    )
    db.commit()
    return codes


def recovery_codes_left(db: Session, user: User) -> int:
    unused = (RecoveryCode.user_id == user.id) & RecoveryCode.used_at.is_(None)
    return db.scalar(select(func.count()).select_from(RecoveryCode).where(unused)) or 0


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _normalise(text: str) -> str:
    return re.sub(r"[\s-]", "", text).lower()


def _use_recovery_code(db: Session, user: User, text: str) -> None:
    normalised = _normalise(text)
    if not _RECOVERY_SHAPE.fullmatch(normalised):
        raise InvalidInput(
            _("Enter the 6-digit code from your authenticator app, or a recovery code."),
            details={"field": "code"},
        )
    used = db.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == tokens.digest(normalised),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise AuthenticationFailed(
            _("Incorrect or already used recovery code."), details={"field": "code"}
        )
