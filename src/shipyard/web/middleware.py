"""Per-request language and the security headers every response carries."""

from __future__ import annotations

import re

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.audit.service import set_request_address
from shipyard.i18n import negotiate, set_language
from shipyard.web.cookies import LANGUAGE_COOKIE

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)
# Swagger UI and xterm.js add <style> elements at run time; their pages run no inline script.
# xterm.js draws the terminal page and a session's output on the session's page.
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
_STYLED_PAGES = re.compile(r"^(/api/docs|/sessions/(?!launcher$)[^/]+(/terminal)?)$")
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class ConsoleMiddleware:
    """Sets the request's language (cookie, then Accept-Language) and client address (for the
    audit log), and adds security headers."""

    def __init__(self, app: ASGIApp, *, default_language: str) -> None:
        self.app = app
        self.default_language = default_language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        set_request_address(connection.client.host if connection.client else "")
        chosen = connection.cookies.get(LANGUAGE_COOKIE)
        set_language(
            chosen
            or negotiate(connection.headers.get("accept-language"), default=self.default_language)
        )
        path = scope["path"]
        csp = DOCS_CSP if path.endswith("/terminal") or _STYLED_PAGES.match(path) else CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(HEADERS)
                headers.append((b"content-security-policy", csp.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
