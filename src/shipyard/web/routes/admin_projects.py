"""The console's administration of projects (admins only)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
