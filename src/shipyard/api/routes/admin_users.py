"""Administration of users through the API (admins only).

The admin 2FA reset, `POST /admin/users/{ref}/reset-2fa`, lives with the other two-factor
routes (api/routes/two_factor.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from shipyard.admin import user_access as admin_access
from shipyard.admin import users as users_admin
from shipyard.api.deps import AdminUser, require_admin
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.users.admin_schemas import (
    AdminUserCreate,
    AdminUserCreated,
    AdminUserPublic,
    AdminUsersPublic,
    AdminUserUpdate,
    DeactivationDone,
    PasswordResetDone,
    PasswordResetIn,
)
from shipyard.users.models import Role, UserStatus
from shipyard.validation import NO_NUL

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])
UserRef = Annotated[str, Path(max_length=254, pattern=NO_NUL, description="a user's id or email")]


@router.get("/users")
def list_users(
    db: DbDep,
    search: Annotated[str, Query(max_length=254, pattern=NO_NUL)] = "",
    role: Role | None = None,
    status: UserStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = users_admin.PAGE_SIZE,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AdminUsersPublic:
    """Users by email; `search` looks in emails and names (case-insensitive)."""
    spec = users_admin.UserFilter(
        search=search, role=role, status=status, offset=offset, limit=limit
    )
    page = users_admin.list_users(db, spec=spec)
    return AdminUsersPublic(data=page.users, count=page.total)


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(
    body: AdminUserCreate, admin: AdminUser, db: DbDep, settings: SettingsDep
) -> AdminUserCreated:
    """A new account; a generated password is in the answer, this once."""
    created = users_admin.create_user(db, admin=admin, spec=body, settings=settings)
    shown = users_admin.present(db, [created.user])[0]
    return AdminUserCreated(**shown.model_dump(), generated_password=created.generated_password)


@router.get("/users/{ref}")
def show_user(ref: UserRef, db: DbDep) -> AdminUserPublic:
    return users_admin.show(db, ref)


@router.patch("/users/{ref}")
def update_user(
    ref: UserRef, body: AdminUserUpdate, admin: AdminUser, db: DbDep
) -> AdminUserPublic:
    """Change name, role, status, policy or projects; only the fields given change."""
    user = users_admin.update_user(db, admin=admin, ref=ref, change=body)
    return users_admin.present(db, [user])[0]


@router.post("/users/{ref}/deactivate")
def deactivate_user(ref: UserRef, admin: AdminUser, db: DbDep) -> DeactivationDone:
    """Their sessions end, every login and token of theirs is revoked, their pending
    invitations are cancelled; their folders and files stay."""
    done = admin_access.deactivate(db, admin=admin, ref=ref)
    return DeactivationDone(
        user=users_admin.present(db, [done.user])[0],
        sessions_ended=done.sessions_ended,
        invitations_canceled=done.invitations_canceled,
        web_sessions_ended=done.revoked.web_sessions,
        api_tokens_revoked=done.revoked.api_tokens,
    )


@router.post("/users/{ref}/activate")
def activate_user(ref: UserRef, admin: AdminUser, db: DbDep) -> AdminUserPublic:
    user = admin_access.activate(db, admin=admin, ref=ref)
    return users_admin.present(db, [user])[0]


@router.post("/users/{ref}/reset-password")
def reset_password(
    ref: UserRef, body: PasswordResetIn, admin: AdminUser, db: DbDep, settings: SettingsDep
) -> PasswordResetDone:
    """A new password (typed or generated, shown once); the user's logins and tokens end."""
    done = admin_access.reset_password(
        db, admin=admin, ref=ref, password=body.password, generate=body.generate, settings=settings
    )
    return PasswordResetDone(
        user=users_admin.present(db, [done.user])[0],
        generated_password=done.generated_password,
        web_sessions_ended=done.revoked.web_sessions,
        api_tokens_revoked=done.revoked.api_tokens,
    )
