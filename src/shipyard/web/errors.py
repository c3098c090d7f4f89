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
from shipyard.web.deps import LoginRequired
from shipyard.web.htmx import is_htmx

log = logging.getLogger(__name__)


def login_required(request: Request, exc: LoginRequired) -> Response:
    target = exc.target or (
        "/login" if exc.next_path in ("", "/") else f"/login?next={_quote(exc.next_path)}"
    )
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _quote(path: str) -> str:
    return quote(path, safe="/?=&")


def error_page(request: Request, *, status_code: int, title: str, message: str) -> Response:
    if is_htmx(request):
        event = {"shipyard:error": {"title": title, "message": message}}
        return Response(status_code=status_code, headers={"HX-Trigger": json.dumps(event)})
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
