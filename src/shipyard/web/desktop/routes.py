"""The console as a desktop app: manifest, service worker and offline page (no login needed:
browsers fetch the manifest without cookies, and the worker installs on the login page)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from shipyard.web import webapp
from shipyard.web.htmx import render, templates

router = APIRouter()


@router.get("/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest that makes the console installable."""
    return Response(
        json.dumps(webapp.manifest(), ensure_ascii=False),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/service-worker.js")
def service_worker(request: Request) -> Response:
    """The service worker, from the root so its scope is the whole console; browsers check it
    for updates on every navigation (no-cache)."""
    source = templates(request).get_template("service-worker.js")
    return Response(
        source.render(webapp.service_worker_context()),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@router.get(webapp.OFFLINE_PATH)
def offline(request: Request) -> HTMLResponse:
    """What the service worker shows when a page cannot be fetched (cached when it installs)."""
    return render(request, "offline.html")
