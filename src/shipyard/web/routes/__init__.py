"""The console's pages."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.web.routes import account, auth, summary

router = APIRouter(include_in_schema=False)
for module in (auth, summary, account):
    router.include_router(module.router)
