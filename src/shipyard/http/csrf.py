"""CSRF for cookie-authenticated requests: unsafe ones carry the session's token, as the
`X-CSRF-Token` header (htmx, fetch) or a `csrf_token` form field; anonymous forms use a
double-submit cookie."""

from __future__ import annotations

from fastapi import Request

from shipyard.auth import tokens
from shipyard.errors import PermissionDenied
from shipyard.i18n import _

ANON_CSRF_COOKIE = "shipyard_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfFailed(PermissionDenied):
    code = "csrf_failed"


async def submitted_csrf(request: Request) -> str | None:
    """The CSRF token the request carries, from the header or a form field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.method in UNSAFE_METHODS and request.headers.get("content-type", "").startswith(
        FORM_TYPES
    ):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def check_csrf(request: Request, *, expected: str | None, submitted: str | None) -> None:
    """Refuse an unsafe request whose token is missing or wrong (nothing has changed yet)."""
    if request.method not in UNSAFE_METHODS:
        return
    if not expected or not submitted or not tokens.same(expected, submitted):
        raise CsrfFailed(_("This form has expired. Reload the page and try again."))
