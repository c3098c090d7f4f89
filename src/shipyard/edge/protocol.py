"""The manager's HTTP server: uvicorn, with a deadline for each request's headers.

uvicorn times out idle keep-alive connections but not a request whose headers trickle in
(slowloris): each byte resets nothing and the connection stays open for good. Here every
request's headers must be complete `header_timeout` seconds after its first byte (after the
connection opens, for the first request), else the connection is closed. Bodies are timed
by the app (edge/limits.py), which knows the routes that stream.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shipyard.config import Settings

log = logging.getLogger(__name__)


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections whose headers come too slowly."""

    header_timeout: ClassVar[float] = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            log.info(
                "closing %s: no complete request headers in %s s", self.client, self.header_timeout
            )
            self.transport.close()


def with_header_deadline(seconds: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class for uvicorn's `http` option, with this header deadline."""
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout": seconds})


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The request limits `shipyard up`/`manager` give uvicorn.

    Proxy headers are the app's to judge (create_app, `trusted_proxies`), not uvicorn's,
    which would believe 127.0.0.1 by default.
    """
    return {
        "http": with_header_deadline(settings.request_header_timeout_seconds),
        "proxy_headers": False,
    }
