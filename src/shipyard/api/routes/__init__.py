"""The JSON API, mounted under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.api.routes import auth, me, system

router = APIRouter(prefix="/api/v1")
for module in (auth, me, system):
    router.include_router(module.router)
