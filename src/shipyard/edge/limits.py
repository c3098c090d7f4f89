"""Limits on a request's body: its size and how long it may take to arrive (DESIGN §6).

A body is capped at `max_body` bytes: a declared Content-Length above it is answered 413
before a byte of the body is read, and a body without one is counted as it arrives. A body
must have arrived whole `body_timeout` seconds after the app first asks for it, else 408.
Both answers close the connection, so the rest of the body is never read; so does any answer
sent before the app read the body it was sent (else a client could trickle an unread body
into a finished request for ever). Requests that
`streams` picks (the tus upload PATCH: a declared length streamed to disk with its own stall
timeout) pass untouched. Header timeouts are the server's (edge/protocol.py): no request
reaches the app before its headers are complete.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.http.errors import error_body
from shipyard.i18n import _

log = logging.getLogger(__name__)

DISCONNECT: Message = {"type": "http.disconnect"}


def has_body(scope: Scope, declared: int | None) -> bool:
    """Whether the request says a body follows (a length above 0, or chunked)."""
    chunked = any(name == b"transfer-encoding" for name, _value in scope["headers"])
    return chunked or bool(declared)


def declared_length(scope: Scope) -> int | None:
    """The Content-Length the request declares; None without one; -1 when it is malformed."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else -1
    return None


class RequestLimits:
    """Pure ASGI middleware: refuses bodies that are too large or too slow (see module)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        body_timeout: float,
        streams: Callable[[Scope], bool],
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.streams = streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.streams(scope):
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared is not None and declared < 0:
            await refuse(send, 400)
            return
        if declared is not None and declared > self.max_body:
            log.info("refused a %d-byte body for %s %s", declared, scope["method"], scope["path"])
            await refuse(send, 413)
            return
        guarded = _Guarded(receive, send, max_body=self.max_body, timeout=self.body_timeout)
        guarded.whole = not has_body(scope, declared)
        await guarded.run(self.app, scope)


class _Guarded:
    """One request's body as the app reads it, counted and timed; the refusal, if any."""

    def __init__(self, receive: Receive, send: Send, *, max_body: int, timeout: float) -> None:
        self._receive = receive
        self._send = send
        self.max_body = max_body
        self.timeout = timeout
        self.size = 0
        self.deadline: float | None = None
        self.whole = False  # the body has arrived (or none was sent): later reads are untimed
        self.refusal: int | None = None
        self.started = False  # a response (the app's or the refusal) has begun

    async def run(self, app: ASGIApp, scope: Scope) -> None:
        try:
            await app(scope, self.receive, self.send)
        except Exception:
            if self.refusal is None:
                raise
            log.debug("%s %s ended by its refusal", scope["method"], scope["path"], exc_info=True)
        if self.refusal is not None and not self.started:
            self.started = True
            await refuse(self._send, self.refusal)

    async def receive(self) -> Message:
        if self.refusal is not None:
            return DISCONNECT
        if self.whole:
            return await self._receive()
        now = anyio.current_time()
        self.deadline = self.deadline if self.deadline is not None else now + self.timeout
        with anyio.move_on_after(self.deadline - now):
            return self._count(await self._receive())
        self.refusal = 408
        return DISCONNECT

    def _count(self, message: Message) -> Message:
        if message["type"] != "http.request":
            return message
        self.size += len(message.get("body", b""))
        if self.size > self.max_body:
            self.refusal = 413
            return DISCONNECT
        self.whole = not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        """The app's answer, unless the body was refused: then the refusal instead."""
        if self.refusal is None:
            if message["type"] == "http.response.start":
                self.started = True
                if not self.whole:  # the rest of an unread body is not read: close after
                    headers = [*message.get("headers", []), (b"connection", b"close")]
                    message = {**message, "headers": headers}
            await self._send(message)
        elif message["type"] == "http.response.start" and not self.started:
            self.started = True
            await refuse(self._send, self.refusal)


async def refuse(send: Send, status: int) -> None:
    """A refusal in the API's error shape that closes the connection."""
    code, message = {
        400: ("bad_request", _("The request is not valid.")),
        408: ("request_timeout", _("The request did not arrive in time.")),
        413: ("too_large", _("The request body is too large.")),
    }[status]
    body = json.dumps(error_body(code, message)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
