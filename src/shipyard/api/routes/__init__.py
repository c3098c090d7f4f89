"""The JSON API, mounted under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.api.routes import (
    admin_agents,
    admin_announcement,
    admin_audit,
    admin_environments,
    admin_groups,
    admin_maintenance,
    admin_policies,
    admin_projects,
    admin_sessions,
    admin_users,
    auth,
    catalog,
    folders,
    invitations,
    me,
    preferences,
    sessions,
    summary,
    system,
    transfers,
    two_factor,
)

router = APIRouter(prefix="/api/v1")
for module in (
    auth,
    me,
    preferences,
    two_factor,
    system,
    sessions,
    summary,
    folders,
    transfers,
    invitations,
    catalog,
    admin_environments,
    admin_groups,
    admin_users,
    admin_projects,
    admin_policies,
    admin_agents,
    admin_maintenance,
    admin_announcement,
    admin_audit,
    admin_sessions,
):
    router.include_router(module.router)
router.include_router(admin_announcement.public_router)
