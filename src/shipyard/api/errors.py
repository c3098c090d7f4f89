"""Every API failure as one JSON shape: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shipyard import errors
from shipyard.http.errors import error_body, status_of
from shipyard.i18n import _

log = logging.getLogger(__name__)


def domain_error(exc: errors.ShipyardError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, errors.Throttled) else {}
    if isinstance(exc, errors.AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details), status_code=status_of(exc), headers=headers
    )


def validation_error(exc: RequestValidationError) -> JSONResponse:
    details = [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type", "")}
        for item in exc.errors()
    ]
    return JSONResponse(
        error_body("invalid_input", _("The request is not valid."), details), status_code=422
    )


HTTP_CODES = {
    400: "bad_request",
    401: "authentication_failed",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
}


def http_error(exc: HTTPException) -> JSONResponse:
    code = HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else _("The request failed.")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


def internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        error_body("internal_error", _("Something went wrong on the server.")), status_code=500
    )
