"""The Summary page's desktop (see issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
