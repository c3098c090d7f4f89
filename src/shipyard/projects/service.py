"""Projects a user belongs to and the one they currently work in."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shipyard.agents import service as agents
from shipyard.errors import NotFound
from shipyard.i18n import _
from shipyard.projects.models import (
    DEFAULT_PROJECT,
    SEEDED_DESCRIPTION,
    MemberRole,
    Project,
    ProjectMember,
)
from shipyard.users.models import User


def default_project(db: Session) -> Project:
    """The default project, created on first use (safe against a concurrent creator)."""
    project = db.scalar(select(Project).where(Project.name == DEFAULT_PROJECT))
    if project is not None:
        return project
    try:
        with db.begin_nested():
            project = Project(name=DEFAULT_PROJECT, description=SEEDED_DESCRIPTION)
            db.add(project)
    except IntegrityError:
        project = db.scalars(select(Project).where(Project.name == DEFAULT_PROJECT)).one()
    return project


def add_member(
    db: Session, *, project: Project, user: User, role: MemberRole = MemberRole.MEMBER
) -> None:
    db.add(ProjectMember(project_id=project.id, user_id=user.id, role=role))


def projects_of(db: Session, user: User) -> list[Project]:
    """The active projects the user is a member of, by name."""
    return list(
        db.scalars(
            select(Project)
            .join(ProjectMember, ProjectMember.project_id == Project.id)
            .where(ProjectMember.user_id == user.id, Project.is_active.is_(True))
            .order_by(Project.name)
        )
    )


def current_project(projects: list[Project], user: User) -> Project | None:
    """The remembered project if the user still belongs to it, else the first one."""
    for project in projects:
        if project.id == user.current_project_id:
            return project
    return projects[0] if projects else None


def switch_project(db: Session, *, user: User, project_id: uuid.UUID) -> Project:
    """Remember project_id as the user's current project; NotFound unless they are a member."""
    project = db.scalar(
        select(Project)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(
            Project.id == project_id,
            ProjectMember.user_id == user.id,
            Project.is_active.is_(True),
        )
    )
    if project is None:
        raise NotFound(_("No such project."))
    user.current_project_id = project.id
    db.commit()
    return project


def create_project(db: Session, *, name: str, description: str = "") -> Project:
    """A new active project without members; it may use the default resource group."""
    project = Project(name=name, description=description)
    db.add(project)
    db.flush()
    agents.allow_project(db, group=agents.default_group(db), project=project)
    db.commit()
    return project


def member_role(db: Session, *, project: Project, user: User) -> MemberRole | None:
    """The user's role in the project, None when not a member."""
    return db.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == user.id
        )
    )


def roles_of(db: Session, user: User) -> dict[uuid.UUID, MemberRole]:
    """The user's role in each project they belong to, in one statement."""
    rows = db.execute(
        select(ProjectMember.project_id, ProjectMember.role).where(ProjectMember.user_id == user.id)
    )
    return {row.project_id: row.role for row in rows}
