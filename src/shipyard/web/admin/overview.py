"""The administration overview: one card per admin area (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from shipyard.web.deps import CurrentAdmin
from shipyard.web.htmx import render

router = APIRouter()


@router.get("/admin")
def overview(request: Request, viewer: CurrentAdmin) -> HTMLResponse:
    return render(request, "admin/index.html", viewer=viewer)
