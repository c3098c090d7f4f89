"""The console's administration of environments (admins only)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
