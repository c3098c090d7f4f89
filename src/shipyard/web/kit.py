"""The console's one dialog and form kit: every form posts through `attempt`, which catches a
domain error once and hands it to the route's refusal (NetBox's generic edit view).

A dialog (`Dialogs`) is a modal's content for htmx, else a page of its own. A refusal shows the
dialog (or page) again, its fields as typed, each error next to the field it is about
(`errors_of`); success closes the modal and fires an event that refreshes the list (htmx), or
redirects back (a plain form) - `done`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shipyard.errors import ShipyardError
from shipyard.http.errors import status_of
from shipyard.web.deps import Viewer
from shipyard.web.htmx import is_htmx, render

T = TypeVar("T")
R = TypeVar("R")
Context = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
DIALOG_DONE = "shipyard:dialog-done"
# A refused form's answer says so, whatever its status (htmx gets 200 to swap the form in):
# app.js records it in the client log as a validation error.
OUTCOME_HEADER = "X-Shipyard-Outcome"
INVALID = "invalid"


def attempt(
    action: Callable[[], T],
    *,
    on_done: Callable[[T], R],
    on_refused: Callable[[ShipyardError], R],
    catch: tuple[type[ShipyardError], ...] = (ShipyardError,),
) -> R:
    """The one submit path: run `action`; a domain error of `catch` goes to `on_refused`.

    A response `on_refused` returns is marked invalid (OUTCOME_HEADER). Any other error (and a
    domain error outside `catch`) propagates to web/errors.py.
    """
    try:
        result = action()
    except ShipyardError as exc:
        if not isinstance(exc, catch):
            raise
        refused = on_refused(exc)
        if isinstance(refused, Response):
            refused.headers[OUTCOME_HEADER] = INVALID
        return refused
    return on_done(result)


def errors_of(
    exc: ShipyardError,
    fields: Collection[str] | None = None,
    *,
    slot_field: Callable[[str], str] | None = None,
) -> dict[str, str]:
    """Each form field's message for a refusal; what no field of `fields` owns goes to "form".

    The error's details name its field(s): "fields" (several at once, when the service checked
    them all), else "field", else (with `slot_field`) the resource "slot" it is about.
    `fields=None` accepts any field name.
    """
    details = exc.details if isinstance(exc.details, dict) else {}
    many, one, slot = details.get("fields"), details.get("field"), details.get("slot")
    if isinstance(many, dict) and many:
        found = {str(key): str(message) for key, message in many.items()}
    elif isinstance(one, str):
        found = {one: exc.message}
    elif slot_field is not None and slot is not None:
        found = {slot_field(str(slot)): exc.message}
    else:
        found = {"form": exc.message}
    return {
        (key if fields is None or key in fields else "form"): text for key, text in found.items()
    }


def refusal_status(request: Request, exc: ShipyardError) -> int:
    """htmx swaps only 2xx answers, so it gets 200; a plain form gets the error's real status."""
    return 200 if is_htmx(request) else status_of(exc)


def see_other(url: str) -> RedirectResponse:
    """After a plain form's success: back to a page (303, so the browser GETs it)."""
    return RedirectResponse(url, status_code=303)


def done(request: Request, *, event: str, message: str, back: str, detail: Any = None) -> Response:
    """After an action: htmx closes the dialog and refreshes the list; a plain form goes back."""
    if not is_htmx(request):
        return see_other(back)
    events = {event: detail or {}, DIALOG_DONE: {"message": message}}
    return Response(
        status_code=200, headers={"HX-Reswap": "none", "HX-Trigger": json.dumps(events)}
    )


def _context_of(context: Context) -> Mapping[str, Any]:
    return context() if callable(context) else context


@dataclass(frozen=True)
class Dialogs:
    """One family of dialogs: the page a dialog shows on without htmx, and what its templates
    use besides their own context (`looks`, e.g. labels; the route's context wins)."""

    page: str
    looks: Callable[[], Mapping[str, Any]] = field(default=dict)

    def show(
        self,
        request: Request,
        viewer: Viewer,
        template: str,
        context: Context,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        """A dialog: for htmx the modal's content (always 200), otherwise a page of its own."""
        modal = is_htmx(request)
        full = {
            "dialog": template,
            "modal": modal,
            "errors": {},
            **self.looks(),
            **_context_of(context),
        }
        code = 200 if modal else status_code
        return render(request, self.page, full, viewer=viewer, fragment=template, status_code=code)

    def refused(
        self,
        request: Request,
        viewer: Viewer,
        template: str,
        context: Context,
        exc: ShipyardError,
    ) -> HTMLResponse:
        """The dialog again, its fields as typed (context's "form"), the error by its field."""
        shown = _context_of(context)
        errors = errors_of(exc, shown.get("form", {}))
        return self.show(
            request, viewer, template, {**shown, "errors": errors}, status_code=status_of(exc)
        )

    def submit(
        self,
        request: Request,
        viewer: Viewer,
        *,
        template: str,
        context: Context,
        action: Callable[[], T],
        on_done: Callable[[T], Response],
    ) -> Response:
        """Run the dialog's action; a refusal shows `template` again with `context` (a callable
        is called only then, after the failed action) and the error by its field."""
        return attempt(
            action,
            on_done=on_done,
            on_refused=lambda exc: self.refused(request, viewer, template, context, exc),
        )
