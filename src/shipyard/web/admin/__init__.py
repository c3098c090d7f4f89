"""The console's administration (admins only): one module or package per admin area."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.web.admin import (
    agents,
    announcement,
    audit,
    maintenance,
    overview,
    policies,
    projects,
    sessions,
    users,
)

router = APIRouter()
AREAS = (overview, users, sessions, projects, policies, agents, maintenance, announcement, audit)
for area in AREAS:
    router.include_router(area.router)
