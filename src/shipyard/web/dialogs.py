"""Dialogs of the Data & Storage pages: a modal's content for htmx, else a page of their own.

A dialog's form posts back to its route. A refusal shows the dialog again with the error by
the field it is about; success closes the modal and fires an event that refreshes the list
(htmx), or redirects back (a plain form).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shipyard.errors import ShipyardError
from shipyard.http.errors import status_of
from shipyard.web import storage_view as view
from shipyard.web.deps import Viewer
from shipyard.web.htmx import is_htmx, render


def looks() -> dict[str, Any]:
    """How permissions, usage modes and counts show, on every Data & Storage template."""
    return {
        "perm_labels": view.perm_labels(),
        "badges": view.BADGES,
        "usage_modes": view.usage_modes(),
        "count_text": view.count_text,
    }


def field_of(exc: ShipyardError, fields: Iterable[str]) -> str:
    """The form field a domain error is about, else "form" (shown above the fields)."""
    field = exc.details.get("field") if isinstance(exc.details, dict) else None
    return field if isinstance(field, str) and field in fields else "form"


def dialog(
    request: Request,
    viewer: Viewer,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """A dialog: for htmx the modal's content, otherwise a page of its own."""
    modal = is_htmx(request)
    full = {"dialog": template, "modal": modal, "errors": {}, "notice": "", **looks(), **context}
    return render(
        request,
        "dialog_page.html",
        full,
        viewer=viewer,
        fragment=template,
        status_code=200 if modal else status_code,
    )


def refused(
    request: Request, viewer: Viewer, template: str, context: dict[str, Any], exc: ShipyardError
) -> HTMLResponse:
    """The dialog again, its fields as typed, the error next to the field it is about."""
    errors = {field_of(exc, context.get("form", {})): exc.message}
    return dialog(
        request, viewer, template, {**context, "errors": errors}, status_code=status_of(exc)
    )


def done(request: Request, *, event: str, message: str, back: str, detail: Any = None) -> Response:
    """After an action: htmx closes the dialog and refreshes the list; a plain form goes back."""
    if not is_htmx(request):
        return RedirectResponse(back, status_code=303)
    events = {event: detail or {}, "shipyard:dialog-done": {"message": message}}
    return Response(
        status_code=200, headers={"HX-Reswap": "none", "HX-Trigger": json.dumps(events)}
    )
