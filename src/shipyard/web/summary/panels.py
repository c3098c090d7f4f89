"""The Summary page's live panels: each rendered on its own, so one failing never takes the
page down, and versioned, so a refresh that brings nothing new swaps nothing.

Contract with static/js/summary.js: a panel's wrapper carries `data-etag` (the version of the
HTML it shows); a refresh sends it as `If-None-Match`, and `answer()` replies 204 (htmx swaps
nothing) when it still matches, else the new HTML with its `ETag`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from shipyard.web import cookies
from shipyard.web.deps import Viewer
from shipyard.web.htmx import templates

log = logging.getLogger(__name__)

POLL = "every 5s, summary:refresh"  # summary:refresh: the tab came back into view
PROJECT_POLL = f"{POLL}, shipyard:project-changed from:body"
NO_STORE = "no-store"  # per user, and compared by version: no cache may answer for us


@dataclass(frozen=True)
class Panel:
    """One live panel of the page: what it shows and where it refreshes from."""

    name: str
    url: str
    html: Markup
    trigger: str = POLL

    @property
    def version(self) -> str:
        return version_of(self.html)


def version_of(html: str) -> str:
    """The quoted ETag of a panel's HTML."""
    return '"' + hashlib.sha256(html.encode()).hexdigest()[:24] + '"'


def html_of(request: Request, viewer: Viewer, template: str, context: Mapping[str, Any]) -> Markup:
    """A template rendered to HTML with what every console template may use."""
    full = {
        "request": request,
        "viewer": viewer,
        "csrf_token": viewer.csrf_token,
        "theme": cookies.theme_of(request, viewer),
        **context,
    }
    rendered = templates(request).env.get_template(template).render(full)
    return Markup(rendered)  # noqa: S704 - the autoescaping environment rendered it


def guarded(
    request: Request,
    viewer: Viewer,
    db: Session,
    *,
    title: str,
    template: str,
    context_of: Callable[[], Mapping[str, Any]],
) -> Markup:
    """The panel, or when its data or its template fails, a small card saying so.

    The failure is logged with its trace; the transaction is rolled back so the other
    panels' queries still run.
    """
    try:
        return html_of(request, viewer, template, context_of())
    except Exception:
        log.exception("Summary panel %r could not be rendered", template)
        db.rollback()
        slug = template.removeprefix("_summary_").removesuffix(".html")
        return html_of(request, viewer, "_summary_panel_error.html", {"title": title, "slug": slug})


def answer(request: Request, html: str, *, unchanged: bool | None = None) -> Response:
    """A panel refresh: 204 when the browser already shows this (by ETag, or `unchanged`)."""
    version = version_of(html)
    headers = {"ETag": version, "Cache-Control": NO_STORE}
    if unchanged is None:
        unchanged = request.headers.get("if-none-match") == version
    if unchanged:
        return Response(status_code=204, headers=headers)
    return HTMLResponse(html, headers=headers)
