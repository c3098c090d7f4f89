"""The calling user: identity, projects and the current project."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from shipyard.api.deps import ApiUser, DbDep
from shipyard.projects import service as projects
from shipyard.projects.schemas import ProjectPublic, ProjectsPublic, ProjectSwitch
from shipyard.users.models import User
from shipyard.users.schemas import MePublic, UserPublic

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


@router.put("/me/current-project")
def switch_project(body: ProjectSwitch, user: ApiUser, db: DbDep) -> MePublic:
    projects.switch_project(db, user=user, project_id=body.project_id)
    return _me(db, user)


@router.get("/projects")
def list_projects(user: ApiUser, db: DbDep) -> ProjectsPublic:
    mine = projects.projects_of(db, user)
    return ProjectsPublic(data=[ProjectPublic.model_validate(p) for p in mine], count=len(mine))
