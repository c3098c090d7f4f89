"""The JSON API, mounted under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.api.routes import (
    admin,
    auth,
    catalog,
    folders,
    invitations,
    me,
    sessions,
    system,
    transfers,
)

router = APIRouter(prefix="/api/v1")
for module in (auth, me, system, sessions, folders, transfers, invitations, catalog, admin):
    router.include_router(module.router)
