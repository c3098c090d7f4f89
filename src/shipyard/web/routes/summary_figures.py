"""The Summary page's summary figures (see issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
