"""Administration of projects through the API (admins only): settings, members, groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from shipyard.admin import project_members as members
from shipyard.admin import projects
from shipyard.api.deps import AdminUser, require_admin
from shipyard.http.deps import DbDep
from shipyard.projects.admin_schemas import (
    MemberAdd,
    MemberChange,
    MemberPublic,
    MembersPublic,
    ProjectAdminPublic,
    ProjectCreate,
    ProjectsAdminPublic,
    ProjectUpdate,
)

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])

Page = Annotated[int, Query(ge=1, le=1_000_000)]
PerPage = Annotated[int, Query(ge=1, le=500)]


@router.get("/projects")
def list_projects(
    db: DbDep,
    search: Annotated[str, Query(max_length=64)] = "",
    page: Page = 1,
    per_page: PerPage = projects.PER_PAGE,
) -> ProjectsAdminPublic:
    """Projects by name with members, policy, allowed resource groups and current usage."""
    found = projects.list_projects(db, search=search, page=page, per_page=per_page)
    return ProjectsAdminPublic(
        data=[projects.present(row) for row in found.rows], count=found.total
    )


@router.post("/projects", status_code=status.HTTP_201_CREATED)
def create_project(body: ProjectCreate, admin: AdminUser, db: DbDep) -> ProjectAdminPublic:
    project = projects.create_project(db, admin=admin, spec=body)
    return projects.present(projects.row_of(db, project))


@router.get("/projects/{ref}")
def show_project(ref: str, db: DbDep) -> ProjectAdminPublic:
    """One project by id or name."""
    return projects.present(projects.row_of(db, projects.find_project(db, ref)))


@router.patch("/projects/{ref}")
def update_project(
    ref: str, body: ProjectUpdate, admin: AdminUser, db: DbDep
) -> ProjectAdminPublic:
    """Change what the body gives; deactivating cancels pending sessions (running ones stay)."""
    project = projects.find_project(db, ref)
    changes = body.model_dump(exclude_unset=True)
    projects.update_project(db, admin=admin, project=project, changes=changes)
    return projects.present(projects.row_of(db, project))


@router.get("/projects/{ref}/members")
def list_members(ref: str, db: DbDep, page: Page = 1, per_page: PerPage = 100) -> MembersPublic:
    found = members.members_of(db, projects.find_project(db, ref), page=page, per_page=per_page)
    return MembersPublic(data=[members.present(m) for m in found.members], count=found.total)


@router.post("/projects/{ref}/members", status_code=status.HTTP_201_CREATED)
def add_member(ref: str, body: MemberAdd, admin: AdminUser, db: DbDep) -> MemberPublic:
    project = projects.find_project(db, ref)
    added = members.add_member(db, admin=admin, project=project, email=body.email, role=body.role)
    return members.present(added)


@router.patch("/projects/{ref}/members/{user}")
def change_member(
    ref: str, user: str, body: MemberChange, admin: AdminUser, db: DbDep
) -> MemberPublic:
    """Change a member's role; `user` is their id or email."""
    project = projects.find_project(db, ref)
    changed = members.change_role(db, admin=admin, project=project, user_ref=user, role=body.role)
    return members.present(changed)


@router.delete("/projects/{ref}/members/{user}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(ref: str, user: str, admin: AdminUser, db: DbDep) -> Response:
    project = projects.find_project(db, ref)
    members.remove_member(db, admin=admin, project=project, user_ref=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
