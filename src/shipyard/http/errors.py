"""The HTTP status of each domain error, and the one JSON error shape."""

from __future__ import annotations

from typing import Any

from shipyard import errors

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
