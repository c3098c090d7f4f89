"""The Summary page's figures through the API."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["summary"])
