"""The Summary page (the console's home) and its live panels."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.web.summary import figures, page

router = APIRouter()
router.include_router(page.router)
router.include_router(figures.router)
