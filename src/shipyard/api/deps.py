"""Who may call an API route: a personal API token or the console's session (with CSRF)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shipyard.errors import AuthenticationFailed, PermissionDenied
from shipyard.http.csrf import UNSAFE_METHODS, submitted_csrf
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.http.principal import Principal, bearer_of, resolve_principal
from shipyard.i18n import _
from shipyard.users.models import User

# Declares the bearer scheme in OpenAPI (the "Authorize" button); bearer_of() does the parsing.
bearer_scheme = HTTPBearer(auto_error=False, description="A personal API token (shy_...)")


async def api_principal(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    submitted: Annotated[str | None, Depends(submitted_csrf)],
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal | None:
    if request.method in UNSAFE_METHODS and bearer_of(request) is None and not request.cookies:
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
