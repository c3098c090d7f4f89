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
    preferences,
    sessions,
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
    folders,
    transfers,
    invitations,
    catalog,
    admin,
):
    router.include_router(module.router)
