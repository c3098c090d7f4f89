"""The Data & Storage pages: folders and their dialogs, sharing, invitations, a folder's files."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.web.data import files, folders, invitations, sharing

router = APIRouter()
router.include_router(folders.router)
router.include_router(invitations.router)
router.include_router(sharing.router)
router.include_router(files.router)
