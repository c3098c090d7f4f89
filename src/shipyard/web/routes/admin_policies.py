"""The console's administration of policies (admins only)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
