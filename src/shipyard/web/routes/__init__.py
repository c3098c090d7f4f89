"""The console's pages."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.web.routes import account, auth, sessions, summary, terminal

router = APIRouter(include_in_schema=False)
for module in (auth, summary, account, sessions, terminal):
    router.include_router(module.router)
