"""Request dependencies shared by the API and the console: database, settings, who is calling.

A caller is identified by a personal API token (`Authorization: Bearer ...`, API only) or by
the web session cookie. Cookie-authenticated unsafe requests must carry the session's CSRF
token, as the `X-CSRF-Token` header (htmx, fetch) or a `csrf_token` form field.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from shipyard.auth import service as auth
from shipyard.auth import tokens
from shipyard.auth.models import ApiToken, WebSession
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.errors import AuthenticationFailed, PermissionDenied
from shipyard.i18n import _, set_language
from shipyard.users.models import User

SESSION_COOKIE = "shipyard_session"
ANON_CSRF_COOKIE = "shipyard_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfFailed(PermissionDenied):
    code = "csrf_failed"


async def get_settings_dep(request: Request) -> Settings:  # async: no thread hop
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    database: Database = request.app.state.db
    with database.sessions() as db:
        yield db


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DbDep = Annotated[Session, Depends(get_db)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


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


async def submitted_csrf(request: Request) -> str | None:
    """The CSRF token the request carries, from the header or a form field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.method in UNSAFE_METHODS and request.headers.get("content-type", "").startswith(
        FORM_TYPES
    ):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def check_csrf(request: Request, *, expected: str | None, submitted: str | None) -> None:
    """Refuse an unsafe request whose token is missing or wrong (nothing has changed yet)."""
    if request.method not in UNSAFE_METHODS:
        return
    if not expected or not submitted or not tokens.same(expected, submitted):
        raise CsrfFailed(_("This form has expired. Reload the page and try again."))


def _bearer(request: Request) -> str | None:
    scheme, _sep, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _resolve(
    request: Request, db: Session, settings: Settings, *, allow_bearer: bool
) -> Principal | None:
    bearer = _bearer(request) if allow_bearer else None
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
) -> Principal | None:
    """Who calls, with CSRF enforced for cookie-based unsafe requests (anonymous ones too)."""
    principal = await run_in_threadpool(_resolve, request, db, settings, allow_bearer=allow_bearer)
    if principal is None or principal.via == "session":
        expected = principal.csrf_token if principal else request.cookies.get(ANON_CSRF_COOKIE)
        check_csrf(request, expected=expected, submitted=submitted)
    if principal is not None and principal.user.language:
        set_language(principal.user.language)
    return principal


# Declares the bearer scheme in OpenAPI (the "Authorize" button); _bearer() does the parsing.
bearer_scheme = HTTPBearer(auto_error=False, description="A personal API token (shy_...)")


async def api_principal(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    submitted: Annotated[str | None, Depends(submitted_csrf)],
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal | None:
    if request.method in UNSAFE_METHODS and _bearer(request) is None and not request.cookies:
        return None  # a scripted call without any credentials: nothing to forge
    return await resolve_principal(request, db, settings, submitted, allow_bearer=True)


def require_api_principal(
    principal: Annotated[Principal | None, Depends(api_principal)],
) -> Principal:
    if principal is None:
        raise AuthenticationFailed(_("Log in first: send an API token or a session cookie."))
    return principal


def require_api_user(principal: Annotated[Principal, Depends(require_api_principal)]) -> User:
    return principal.user


ApiPrincipal = Annotated[Principal, Depends(require_api_principal)]
ApiUser = Annotated[User, Depends(require_api_user)]


def require_admin(user: Annotated[User, Depends(require_api_user)]) -> User:
    if not user.is_admin:
        raise PermissionDenied(_("Only administrators may do this."))
    return user


AdminUser = Annotated[User, Depends(require_admin)]
