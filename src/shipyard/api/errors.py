"""Every API failure as one JSON shape: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shipyard import errors
from shipyard.i18n import _

log = logging.getLogger(__name__)

STATUS: dict[type[errors.ShipyardError], int] = {
    errors.InvalidInput: 422,
    errors.AuthenticationFailed: 401,
    errors.Throttled: 429,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.QuotaExceeded: 409,
}


def status_of(exc: errors.ShipyardError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


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
