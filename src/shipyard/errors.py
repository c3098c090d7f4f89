"""The domain error tree. No HTTP here: api/errors.py and web/errors.py translate it once.

ShipyardError                 a user-facing message (already translated) + machine code
 ├── InvalidInput             the request itself is wrong (422)
 ├── AuthenticationFailed     credentials missing, wrong or expired (401)
 ├── Throttled                too many attempts; carries retry_after seconds (429)
 ├── PermissionDenied         authenticated, but not allowed (403)
 ├── NotFound                 does not exist, or the caller may not know it exists (404)
 ├── Conflict                 clashes with the current state (409)
 └── QuotaExceeded            a limit does not allow it now; details say which (409)
"""

from __future__ import annotations

from typing import Any, ClassVar


class ShipyardError(Exception):
    """Base of all domain errors; `message` is shown to the user as it is."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(ShipyardError):
    code = "invalid_input"


class AuthenticationFailed(ShipyardError):
    code = "authentication_failed"


class Throttled(ShipyardError):
    code = "throttled"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class PermissionDenied(ShipyardError):
    code = "permission_denied"


class NotFound(ShipyardError):
    code = "not_found"


class Conflict(ShipyardError):
    code = "conflict"


class QuotaExceeded(ShipyardError):
    code = "quota_exceeded"
