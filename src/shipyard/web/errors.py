"""Domain errors and HTTP errors as console pages (or, for htmx requests, a toast event)."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from shipyard import errors
from shipyard.http.errors import status_of
from shipyard.i18n import _
from shipyard.web.deps import LoginRequired, page_viewer
from shipyard.web.htmx import is_htmx, render

log = logging.getLogger(__name__)


LOGGED_OUT = "logged-out"  # /login?reason=...: the login page says the session has ended


def login_required(request: Request, exc: LoginRequired) -> Response:
    """To the login page, with `next` the page to come back to.

    An htmx request is answered 401 and changes nothing on its page: the page's script says
    the user was logged out and offers the login page with `next` set to that page.
    """
    if exc.target is not None:
        if is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": exc.target})
        return RedirectResponse(exc.target, status_code=303)
    if is_htmx(request):
        return logged_out()
    return RedirectResponse(login_url(exc.next_path, ended=exc.ended), status_code=303)


def login_url(next_path: str, *, ended: bool = False) -> str:
    query = [] if next_path in ("", "/") else [f"next={_quote(next_path)}"]
    query += [f"reason={LOGGED_OUT}"] if ended else []
    return "/login" + (f"?{'&'.join(query)}" if query else "")


def logged_out() -> Response:
    """The answer to an htmx request without a live web session: an event, no swap."""
    event = {
        "shipyard:logged-out": {
            "title": _("Logged out"),
            "message": _("You have been logged out. Log in again to continue."),
            "action": _("Log in again"),
            "reason": LOGGED_OUT,
        }
    }
    return Response(status_code=401, headers={"HX-Trigger": json.dumps(event), "HX-Reswap": "none"})


def _quote(path: str) -> str:
    """The page as one query value: its own query (?, &, =) must not split the login's."""
    return quote(path, safe="/")


IN_LAYOUT = (403, 404)  # a logged-in viewer keeps the navigation on these pages


def error_page(request: Request, *, status_code: int, title: str, message: str) -> Response:
    """A toast for htmx; a 403 or 404 page inside the console's layout for a logged-in viewer;
    otherwise a page of its own, without the navigation (anonymous, or the app failing)."""
    if is_htmx(request):
        event = {"shipyard:error": {"title": title, "message": message}}
        return Response(status_code=status_code, headers={"HX-Trigger": json.dumps(event)})
    context = {"title": title, "message": message, "status_code": status_code}
    shown = _in_layout(request, context, status_code) if status_code in IN_LAYOUT else None
    if shown is not None:
        return shown
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request,
        "error.html",
        {
            "title": title,
            "message": message,
            "status_code": status_code,
            "viewer": None,
            "csrf_token": "",
            "theme": "system",
        },
        status_code=status_code,
    )
    return response


def _in_layout(request: Request, context: dict[str, object], status_code: int) -> Response | None:
    """The error page with the viewer's top bar and navigation; None when nobody is logged in.

    Blocking (a database read): web errors are answered in a worker thread (app.py).
    """
    with request.app.state.db.sessions() as db:
        viewer = page_viewer(request, db, request.app.state.settings)
        if viewer is None:
            return None
        return render(request, "error_page.html", context, viewer=viewer, status_code=status_code)


TITLES = {
    400: lambda: _("Bad request"),
    401: lambda: _("Not logged in"),
    403: lambda: _("Not allowed"),
    404: lambda: _("Page not found"),
    405: lambda: _("Not allowed"),
    409: lambda: _("Conflict"),
    422: lambda: _("Invalid input"),
    429: lambda: _("Too many requests"),
}


def domain_error(request: Request, exc: errors.ShipyardError) -> Response:
    status_code = status_of(exc)
    title = TITLES.get(status_code, lambda: _("Error"))()
    return error_page(request, status_code=status_code, title=title, message=exc.message)


def http_error(request: Request, exc: HTTPException) -> Response:
    if 300 <= exc.status_code < 400:  # a dependency that sends the browser elsewhere
        return Response(status_code=exc.status_code, headers=exc.headers)
    title = TITLES.get(exc.status_code, lambda: _("Error"))()
    message = _("There is nothing at this address.") if exc.status_code == 404 else title
    return error_page(request, status_code=exc.status_code, title=title, message=message)


def validation_error(request: Request) -> Response:
    return error_page(
        request, status_code=422, title=_("Invalid input"), message=_("The form is not valid.")
    )


def internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(
        request,
        status_code=500,
        title=_("Something went wrong"),
        message=_("The server could not complete this request. Try again later."),
    )
