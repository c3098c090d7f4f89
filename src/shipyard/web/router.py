"""The console's pages: every area package of web/ exposes `router`; this includes them all."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.web import account, admin, auth, data, desktop, sessions, summary, terminal

router = APIRouter(include_in_schema=False)
AREAS = (
    auth,
    summary,
    desktop,
    account,
    sessions,
    terminal,
    data,
    admin,
)
for area in AREAS:
    router.include_router(area.router)
