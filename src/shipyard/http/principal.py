"""Who is calling: a personal API token (`Authorization: Bearer ...`, API only) or the web
session cookie; cookie-authenticated unsafe requests are CSRF-checked (http.csrf)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from shipyard.auth import service as auth
from shipyard.auth.models import ApiToken, WebSession
from shipyard.config import Settings
from shipyard.errors import AuthenticationFailed
from shipyard.http.csrf import ANON_CSRF_COOKIE, check_csrf
from shipyard.i18n import _, set_language
from shipyard.users.models import User

SESSION_COOKIE = "shipyard_session"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller and how they authenticated."""

    user: User
    via: Literal["session", "token"]
    web_session: WebSession | None = None
    api_token: ApiToken | None = None

    @property
    def csrf_token(self) -> str:
        return self.web_session.csrf_token if self.web_session else ""


def bearer_of(request: Request) -> str | None:
    scheme, _sep, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _resolve(
    request: Request, db: Session, settings: Settings, *, allow_bearer: bool
) -> Principal | None:
    bearer = bearer_of(request) if allow_bearer else None
    if bearer is not None:
        found_token = auth.resolve_api_token(db, bearer)
        if found_token is None:
            raise AuthenticationFailed(_("The API token is invalid or has expired."))
        token, user = found_token
        return Principal(user=user, via="token", api_token=token)
    cookie = request.cookies.get(SESSION_COOKIE)
    found_session = auth.resolve_web_session(db, cookie, settings=settings) if cookie else None
    if found_session is None:
        return None
    web_session, user = found_session
    return Principal(user=user, via="session", web_session=web_session)


async def resolve_principal(
    request: Request,
    db: Session,
    settings: Settings,
    submitted: str | None,
    *,
    allow_bearer: bool,
    check_anonymous: bool = True,
) -> Principal | None:
    """Who calls, with CSRF enforced for cookie-based unsafe requests.

    Anonymous ones too, unless `check_anonymous` is off: a caller that refuses every anonymous
    request anyway (a page that needs a login) may answer it "logged out" instead.
    """
    principal = await run_in_threadpool(_resolve, request, db, settings, allow_bearer=allow_bearer)
    if principal is None and not check_anonymous:
        return None
    if principal is None or principal.via == "session":
        expected = principal.csrf_token if principal else request.cookies.get(ANON_CSRF_COOKIE)
        check_csrf(request, expected=expected, submitted=submitted)
    if principal is not None and principal.user.language:
        set_language(principal.user.language)
    return principal


def cookie_principal(request: Request, db: Session, settings: Settings) -> Principal | None:
    """Who the web session cookie says is calling, without a CSRF check: only for an answer
    that shows and changes nothing (the console's error pages)."""
    principal = _resolve(request, db, settings, allow_bearer=False)
    if principal is not None and principal.user.language:
        set_language(principal.user.language)
    return principal
