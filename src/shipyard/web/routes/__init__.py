"""The console's pages."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.web.routes import (
    account,
    admin,
    admin_agents,
    admin_announcement,
    admin_audit,
    admin_environments,
    admin_maintenance,
    admin_policies,
    admin_projects,
    admin_users,
    auth,
    data,
    data_files,
    desktop,
    preferences,
    sessions,
    summary,
    summary_figures,
    terminal,
    two_factor,
)

router = APIRouter(include_in_schema=False)
MODULES = (
    auth,
    summary,
    summary_figures,
    desktop,
    account,
    two_factor,
    preferences,
    sessions,
    terminal,
    data,
    data_files,
    admin,
    admin_users,
    admin_projects,
    admin_policies,
    admin_agents,
    admin_environments,
    admin_maintenance,
    admin_announcement,
    admin_audit,
)
for module in MODULES:
    router.include_router(module.router)
