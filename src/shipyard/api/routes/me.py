"""The calling user: identity, name, password, projects and the current project."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from shipyard.api.deps import ApiPrincipal, ApiUser
from shipyard.http.deps import DbDep, SettingsDep, client_address
from shipyard.i18n import _
from shipyard.projects import service as projects
from shipyard.projects.schemas import ProjectPublic, ProjectsPublic, ProjectSwitch
from shipyard.users import service as users
from shipyard.users.models import User
from shipyard.users.schemas import (
    AccountUpdate,
    MePublic,
    PasswordChanged,
    PasswordChangeIn,
    UserPublic,
)

router = APIRouter(tags=["me"])


def _me(db: Session, user: User) -> MePublic:
    mine = projects.projects_of(db, user)
    current = projects.current_project(mine, user)
    return MePublic(
        user=UserPublic.model_validate(user),
        language=user.language,
        theme=user.theme,
        projects=[ProjectPublic.model_validate(p) for p in mine],
        current_project=ProjectPublic.model_validate(current) if current else None,
    )


@router.get("/me")
def read_me(user: ApiUser, db: DbDep) -> MePublic:
    return _me(db, user)


@router.patch("/me")
def update_me(body: AccountUpdate, user: ApiUser, db: DbDep) -> MePublic:
    """Change one's own full name (1 to 64 characters)."""
    users.rename_account(db, user, full_name=body.full_name)
    return _me(db, user)


@router.post("/me/password")
def change_password(
    body: PasswordChangeIn,
    request: Request,
    principal: ApiPrincipal,
    db: DbDep,
    settings: SettingsDep,
) -> PasswordChanged:
    """Change one's own password; whoever knew the old one is locked out.

    Every API token is revoked, the calling one too (the CLI logs in again), and every web
    session ends except the one making this call when it is made with a session cookie.
    """
    change = users.PasswordChange(
        current=body.current_password,
        new=body.new_password,
        again=None,
        client_address=client_address(request),
        keep_session=principal.web_session.id if principal.web_session else None,
    )
    revoked = users.change_password(db, principal.user, change=change, settings=settings)
    return PasswordChanged(
        message=_("The password has been changed. Log in again with the new password."),
        web_sessions_ended=revoked.web_sessions,
        api_tokens_revoked=revoked.api_tokens,
    )


@router.put("/me/current-project")
def switch_project(body: ProjectSwitch, user: ApiUser, db: DbDep) -> MePublic:
    projects.switch_project(db, user=user, project_id=body.project_id)
    return _me(db, user)


@router.get("/projects")
def list_projects(user: ApiUser, db: DbDep) -> ProjectsPublic:
    mine = projects.projects_of(db, user)
    return ProjectsPublic(data=[ProjectPublic.model_validate(p) for p in mine], count=len(mine))
