"""Rendering: a full page, or for an htmx request only the fragment it asked for.

A route that answers only fragments (a panel's refresh) takes `FRAGMENT_ONLY`: a browser that
opens its address as a page (a link, a typed address, the redirect after logging in) is sent
to the page the fragment belongs to instead of being shown a bare, unstyled fragment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from shipyard.web import cookies
from shipyard.web.deps import Viewer


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def is_navigation(request: Request) -> bool:
    """The browser opens this address as a page (Fetch Metadata), not a script's request."""
    return request.method == "GET" and request.headers.get("sec-fetch-mode") == "navigate"


async def fragment_only(request: Request) -> None:
    """A navigation to a fragment's address goes to its page (see the module docstring)."""
    if is_navigation(request):
        raise HTTPException(status_code=303, headers={"Location": page_above(request)})


FRAGMENT_ONLY = Depends(fragment_only)


def page_above(request: Request) -> str:
    """The nearest parent address the app answers with GET; the Summary page at the latest."""
    parts = request.url.path.strip("/").split("/")
    for end in range(len(parts) - 1, 0, -1):
        candidate = "/" + "/".join(parts[:end])
        if _answers_get(request, candidate):
            return candidate
    return "/"


def _answers_get(request: Request, path: str) -> bool:
    scope = {**request.scope, "method": "GET", "path": path, "query_string": b""}
    return any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes)


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
