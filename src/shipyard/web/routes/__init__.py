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
)

router = APIRouter(include_in_schema=False)
for module in (auth, summary, account, preferences, sessions, terminal, data, data_files):
    router.include_router(module.router)
