"""The console's administration of audit (admins only)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
