"""Rendering: a full page, or for an htmx request only the fragment it asked for."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from shipyard.web import cookies
from shipyard.web.deps import Viewer


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def templates(request: Request) -> Any:
    return request.app.state.templates


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    viewer: Viewer | None = None,
    anon_csrf: str | None = None,
    status_code: int = 200,
    fragment: str | None = None,
) -> HTMLResponse:
    """Render `template` (or `fragment` for htmx requests) with what every page needs.

    Anonymous pages pass `anon_csrf`; it is (re)set as the double-submit cookie.
    """
    name = fragment if fragment is not None and is_htmx(request) else template
    full: dict[str, Any] = {
        "viewer": viewer,
        "csrf_token": viewer.csrf_token if viewer else (anon_csrf or ""),
        "theme": cookies.theme_of(request, viewer),
        **(context or {}),
    }
    response: HTMLResponse = templates(request).TemplateResponse(
        request, name, full, status_code=status_code
    )
    if viewer is None and anon_csrf:
        cookies.set_anon_csrf(request, response, anon_csrf)
    return response


def trigger(response: Response, event: str, detail: Any = None) -> Response:
    """Ask htmx to fire `event` on the page (HX-Trigger)."""
    response.headers["HX-Trigger"] = json.dumps({event: detail if detail is not None else True})
    return response
