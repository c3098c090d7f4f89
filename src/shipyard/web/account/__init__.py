"""The user menu's pages: current project, My Account with two-factor login, Preferences."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.web.account import preferences, profile, two_factor

router = APIRouter()
router.include_router(profile.router)
router.include_router(two_factor.router)
router.include_router(preferences.router)
