"""Personal API tokens for the CLI: log in with a password, log out by revoking."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from shipyard.api.deps import ApiPrincipal
from shipyard.auth import service as auth
from shipyard.auth.schemas import LoginRequest, TokenIssued
from shipyard.config import Settings
from shipyard.errors import InvalidInput
from shipyard.http.deps import DbDep, SettingsDep, client_address
from shipyard.i18n import _
from shipyard.users.schemas import UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", status_code=status.HTTP_201_CREATED)
async def login(
    body: LoginRequest, request: Request, db: DbDep, settings: SettingsDep
) -> TokenIssued:
    """Check email and password and issue a personal API token.

    An account with two-factor login on also needs `otp` (a one-time password or a recovery
    code): without it the answer is 401 with the code `otp_required`. Failures are
    throttled (429 with Retry-After); an account many addresses failed on answers slower.
    """
    await auth.wait_turn(db, email=body.email, settings=settings)
    return await run_in_threadpool(_login, body, request, db, settings)


def _login(body: LoginRequest, request: Request, db: Session, settings: Settings) -> TokenIssued:
    creds = auth.Credentials(
        email=body.email, password=body.password, client_address=client_address(request)
    )
    user = auth.authenticate(db, creds, settings=settings, otp=body.otp)
    raw, token = auth.issue_api_token(db, user=user, name=body.token_name, settings=settings)
    return TokenIssued(
        token=raw,
        token_id=token.id,
        name=token.name,
        expires_at=token.expires_at,
        user=UserPublic.model_validate(user),
    )


@router.delete("/token", status_code=status.HTTP_204_NO_CONTENT)
def logout(principal: ApiPrincipal, db: DbDep) -> None:
    """Revoke the API token this request was made with."""
    if principal.api_token is None:
        raise InvalidInput(_("Only an API token can revoke itself; log out in the console."))
    auth.revoke_api_token(db, user=principal.user, token_id=principal.api_token.id)
