"""Administration of projects through the API (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shipyard.api.deps import require_admin

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])
