"""The Summary page, the console's home."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from shipyard.web.deps import CurrentViewer
from shipyard.web.htmx import render

router = APIRouter()


@router.get("/")
def summary(request: Request, viewer: CurrentViewer) -> HTMLResponse:
    return render(request, "summary.html", viewer=viewer, fragment="_summary_project.html")
