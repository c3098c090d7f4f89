"""Administration of resource groups through the API (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from shipyard.admin import groups
from shipyard.agents.admin_schemas import (
    GroupAdmin,
    GroupCreate,
    GroupProjects,
    GroupsAdmin,
    GroupUpdate,
)
from shipyard.api.deps import AdminUser, require_admin
from shipyard.http.deps import DbDep
from shipyard.validation import NO_NUL

router = APIRouter(
    prefix="/admin/resource-groups", tags=["admin"], dependencies=[Depends(require_admin)]
)
GroupName = Annotated[str, Path(max_length=64, pattern=NO_NUL)]


@router.get("")
def list_groups(db: DbDep) -> GroupsAdmin:
    """Groups with their agents (alive/total), capacity vs use per slot and allowed projects."""
    found = groups.list_groups(db)
    return GroupsAdmin(data=found, count=len(found))


@router.post("", status_code=status.HTTP_201_CREATED)
def create_group(body: GroupCreate, admin_user: AdminUser, db: DbDep) -> GroupAdmin:
    """A new group; network mode "outbound" unless told otherwise."""
    group = groups.create_group(db, actor=admin_user, spec=body)
    return groups.get_group(db, group.name)


@router.get("/{name}")
def get_group(name: GroupName, db: DbDep) -> GroupAdmin:
    return groups.get_group(db, name)


@router.patch("/{name}")
def update_group(
    name: GroupName, body: GroupUpdate, admin_user: AdminUser, db: DbDep
) -> GroupAdmin:
    """Any of description, placement, active, network mode, allow-list (replaced whole).

    The default group stays active; network changes reach sessions started afterwards.
    """
    groups.update_group(db, actor=admin_user, name=name, change=body)
    return groups.get_group(db, name)


@router.put("/{name}/projects")
def set_projects(
    name: GroupName, body: GroupProjects, admin_user: AdminUser, db: DbDep
) -> GroupAdmin:
    """Exactly these projects (names or ids) may use the group."""
    groups.set_projects(db, actor=admin_user, name=name, projects=body.projects)
    return groups.get_group(db, name)
