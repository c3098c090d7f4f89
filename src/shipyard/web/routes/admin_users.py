"""The console's administration of users (admins only)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
