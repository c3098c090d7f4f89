"""The console's pages."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.web.routes import (
    account,
    auth,
    data,
    data_files,
    preferences,
    sessions,
    summary,
    terminal,
    two_factor,
)

router = APIRouter(include_in_schema=False)
MODULES = (auth, summary, account, two_factor, preferences, sessions, terminal, data, data_files)
for module in MODULES:
    router.include_router(module.router)
