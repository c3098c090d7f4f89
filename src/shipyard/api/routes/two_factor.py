"""Two-factor login through the API: status, setup, turning it off, and the admin reset."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status

from shipyard.api.deps import ApiUser, require_admin
from shipyard.auth import totp
from shipyard.auth.schemas import CodeIn, RecoveryCodes, TwoFactorSetup, TwoFactorStatus
from shipyard.http.deps import DbDep, SettingsDep, client_address
from shipyard.users.models import User
from shipyard.users.schemas import UserPublic
from shipyard.validation import NO_NUL

router = APIRouter(tags=["two-factor"])
AdminUser = Annotated[User, Depends(require_admin)]
UserRef = Annotated[str, Path(max_length=254, pattern=NO_NUL, description="a user's id or email")]


@router.get("/me/2fa")
def read_status(user: ApiUser, db: DbDep, settings: SettingsDep) -> TwoFactorStatus:
    return TwoFactorStatus(
        available=settings.totp_available,
        enabled=settings.totp_available and user.totp_enabled,
        required=totp.required_of(user, settings),
        recovery_codes_left=totp.recovery_codes_left(db, user) if user.totp_enabled else 0,
    )


@router.post("/me/2fa/setup", status_code=status.HTTP_201_CREATED)
def begin_setup(user: ApiUser, db: DbDep, settings: SettingsDep) -> TwoFactorSetup:
    """A key to add to an authenticator app; 2FA turns on once /confirm gets a valid code."""
    enrolment = totp.begin_setup(db, user, settings=settings)
    return TwoFactorSetup(secret=enrolment.secret, uri=enrolment.uri)


@router.post("/me/2fa/confirm")
def confirm_setup(body: CodeIn, user: ApiUser, db: DbDep, settings: SettingsDep) -> RecoveryCodes:
    """Turn 2FA on with a first code; the recovery codes are in this answer only."""
    codes = totp.confirm_setup(db, user, code=body.code, settings=settings)
    return RecoveryCodes(recovery_codes=codes)


@router.post("/me/2fa/disable", status_code=status.HTTP_204_NO_CONTENT)
def disable(
    body: CodeIn, request: Request, user: ApiUser, db: DbDep, settings: SettingsDep
) -> None:
    """Turn 2FA off with a current one-time password or a recovery code."""
    totp.disable(
        db, user, code=body.code, settings=settings, client_address=client_address(request)
    )


@router.post("/admin/users/{ref}/reset-2fa", tags=["admin"])
def reset(ref: UserRef, admin: AdminUser, db: DbDep) -> UserPublic:
    """Turn off a user's 2FA (by id or email), e.g. after a lost phone; the reset is logged."""
    return UserPublic.model_validate(totp.reset(db, ref, by=admin))
