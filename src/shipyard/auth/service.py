"""Logging in and out: credential checks, web sessions and personal API tokens."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import anyio
from anyio import to_thread
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shipyard.audit.models import Action
from shipyard.audit.service import record
from shipyard.auth import passwords, throttle, tokens, totp
from shipyard.auth.models import ApiToken, WebSession
from shipyard.config import Settings
from shipyard.db import utcnow
from shipyard.errors import AuthenticationFailed, InvalidInput, NotFound, Throttled
from shipyard.i18n import _
from shipyard.users.models import User
from shipyard.users.service import normalise_email
from shipyard.validation import has_nul

TOUCH_EVERY = timedelta(seconds=60)

# How wait_turn waits; tests put a recorder in rather than sleep.
pause: Callable[[float], Awaitable[None]] = anyio.sleep


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str
    client_address: str


async def wait_turn(db: Session, *, email: str, settings: Settings) -> None:
    """Wait out the account's slowdown (throttle.slowdown) before its password is checked.

    Call it before `check_password`/`authenticate`. The wait runs on the event loop and
    holds no worker thread and no database connection (db's transaction ends first), so a
    flood of slowed attempts ties nothing up.
    """
    delay = await to_thread.run_sync(_slowdown, db, email, settings)
    if delay > 0:
        await pause(delay)


def _slowdown(db: Session, email: str, settings: Settings) -> float:
    delay = (
        0.0
        if has_nul(email)
        else throttle.slowdown(db, email=normalise_email(email), settings=settings)
    )
    db.commit()
    return delay


def check_password(db: Session, creds: Credentials, *, settings: Settings) -> User:
    """The user these credentials name, or AuthenticationFailed / Throttled.

    Unknown emails and wrong passwords fail alike, in message and in time (an unknown email
    is verified against a dummy hash); every failure counts towards the throttle (see
    auth/throttle.py) and is audited, and so is every throttled attempt. This grants
    nothing yet: a user for whom `totp.code_due` holds owes a one-time code first, and the
    caller ends a successful login with `complete_login`.
    """
    if has_nul(creds.email, creds.password):
        raise AuthenticationFailed(_("Incorrect email or password."))
    email = normalise_email(creds.email)
    user = db.scalar(select(User).where(User.email == email))
    _guard(db, creds, user=user, settings=settings)
    matches = passwords.verify_password(
        settings, user.password_hash if user else None, creds.password
    )
    if user is None or not matches:
        throttle.record_failure(
            db, email=email, client_address=creds.client_address, settings=settings
        )
        _record_failure(db, creds, user=user, reason="unknown_user" if user is None else "password")
        db.commit()
        raise AuthenticationFailed(_("Incorrect email or password."))
    if not user.is_active:
        _record_failure(db, creds, user=user, reason="inactive")
        db.commit()
        raise AuthenticationFailed(_("This account is inactive. Ask an administrator."))
    if passwords.needs_rehash(settings, user.password_hash):
        user.password_hash = passwords.hash_password(settings, creds.password)
    db.commit()
    return user


def _guard(db: Session, creds: Credentials, *, user: User | None, settings: Settings) -> None:
    """throttle.check for these credentials; a refused attempt is audited before Throttled."""
    email = normalise_email(creds.email)
    try:
        throttle.check(db, email=email, client_address=creds.client_address, settings=settings)
    except Throttled:
        _record_failure(db, creds, user=user, reason="throttled")
        db.commit()
        raise


def _record_failure(db: Session, creds: Credentials, *, user: User | None, reason: str) -> None:
    """A failed login in the audit log, under the email as typed (there is no actor).

    `reason`: unknown_user, password, inactive, throttled, otp or recovery_code.
    """
    record(
        db,
        Action.LOGIN_FAILED,
        actor=None,
        actor_email=creds.email.strip(),
        target_type="user" if user else "",
        target_id=user.id if user else "",
        target_label=user.email if user else "",
        details={"reason": reason},
        success=False,
        address=creds.client_address,
    )


def complete_login(db: Session, *, user: User, client_address: str) -> None:
    """Every factor was right: this address starts afresh for the account (and it is logged)."""
    throttle.forget(db, email=user.email, client_address=client_address)
    record(
        db,
        Action.LOGIN,
        actor=user,
        target_type="user",
        target_id=user.id,
        target_label=user.email,
        address=client_address,
    )
    db.commit()


def authenticate(
    db: Session, creds: Credentials, *, settings: Settings, otp: str | None = None
) -> User:
    """The user, once the password and (with two-factor login on) a one-time code are right.

    Without `otp` a user with two-factor login gets OtpRequired; a wrong code fails like a
    wrong password and counts towards the throttle. `otp` may also be a recovery code.
    """
    user = check_password(db, creds, settings=settings)
    if totp.code_due(user, settings):
        if not otp:
            raise totp.OtpRequired(
                _("This account uses two-factor login: send the one-time password as well.")
            )
        totp.verify(
            db,
            user,
            otp,
            settings=settings,
            client_address=creds.client_address,
            recovery=True,
        )
    complete_login(db, user=user, client_address=creds.client_address)
    return user


def start_web_session(
    db: Session,
    *,
    user: User,
    settings: Settings,
    client_address: str = "",
    user_agent: str = "",
    replaces: str | None = None,
) -> tuple[str, WebSession]:
    """A fresh session (never a reused id) and its raw cookie value.

    `replaces` (the cookie the browser still had) is ended, and so is every session that
    has passed its absolute expiry, so that abandoned sessions do not pile up.
    """
    now = utcnow()
    stale = WebSession.expires_at <= now
    if replaces:
        stale = stale | (WebSession.token_hash == tokens.digest(replaces))
    db.execute(delete(WebSession).where(stale))
    raw = tokens.new_secret()
    web_session = WebSession(
        token_hash=tokens.digest(raw),
        csrf_token=tokens.new_secret(),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        client_address=client_address[:64],
        user_agent=user_agent[:255],
    )
    db.add(web_session)
    db.commit()
    return raw, web_session


def idle_minutes(user: User, settings: Settings) -> int:
    """Idle minutes before a web session ends: the user's own shorter choice, else the server's."""
    own = user.idle_logout_minutes
    return min(own, settings.session_idle_minutes) if own else settings.session_idle_minutes


def resolve_web_session(
    db: Session, raw: str, *, settings: Settings
) -> tuple[WebSession, User] | None:
    """The live session and its active user for a cookie value, or None.

    Expired sessions (idle or absolute) are deleted on sight. last_seen_at is written at
    most once a minute so that reading pages does not turn into writes.
    """
    row = db.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == tokens.digest(raw))
    ).first()
    if row is None:
        return None
    web_session, user = row
    now = utcnow()
    idle_limit = web_session.last_seen_at + timedelta(minutes=idle_minutes(user, settings))
    if now >= web_session.expires_at or now >= idle_limit or not user.is_active:
        db.delete(web_session)
        db.commit()
        return None
    if now - web_session.last_seen_at >= TOUCH_EVERY:
        web_session.last_seen_at = now
        db.commit()
    return web_session, user


def end_web_session(db: Session, raw: str) -> None:
    """Log out: the session ends (and its user's logout is logged, if it was still live)."""
    found = db.execute(
        select(WebSession.id, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == tokens.digest(raw))
    ).first()
    if found is not None:
        session_id, user = found
        db.execute(delete(WebSession).where(WebSession.id == session_id))
        record(
            db,
            Action.LOGOUT,
            actor=user,
            target_type="user",
            target_id=user.id,
            target_label=user.email,
        )
    db.commit()


def issue_api_token(
    db: Session, *, user: User, name: str, settings: Settings, days: int | None = None
) -> tuple[str, ApiToken]:
    """A new personal API token; the raw value is returned once and never stored."""
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise InvalidInput(
            _("A token name must have 1 to 64 characters."), details={"field": "name"}
        )
    raw = tokens.new_api_token()
    lifetime = days if days is not None else settings.api_token_days
    token = ApiToken(
        token_hash=tokens.digest(raw),
        prefix=raw[:12],
        name=name,
        user_id=user.id,
        expires_at=utcnow() + timedelta(days=lifetime),
    )
    db.add(token)
    db.flush()  # the id, for the audit entry
    record(
        db,
        Action.TOKEN_CREATE,
        actor=user,
        target_type="api_token",
        target_id=token.id,
        target_label=name,
        details={"prefix": token.prefix, "days": lifetime},
    )
    db.commit()
    return raw, token


def resolve_api_token(db: Session, raw: str) -> tuple[ApiToken, User] | None:
    """The unexpired token and its active user for a bearer value, or None."""
    row = db.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == tokens.digest(raw))
    ).first()
    if row is None:
        return None
    token, user = row
    now = utcnow()
    if (token.expires_at is not None and now >= token.expires_at) or not user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now
        db.commit()
    return token, user


def revoke_api_token(db: Session, *, user: User, token_id: uuid.UUID) -> None:
    token = db.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_("No such API token."))
    record(
        db,
        Action.TOKEN_REVOKE,
        actor=user,
        target_type="api_token",
        target_id=token.id,
        target_label=token.name,
        details={"prefix": token.prefix},
    )
    db.delete(token)
    db.commit()


def list_api_tokens(db: Session, *, user: User) -> list[ApiToken]:
    return list(
        db.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
        )
    )
