"""Squatters: servers that take a port the manager or an agent should hold, record every
byte they are sent and answer whatever a test wants (the attacker of issue 12, finding 1)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from websockets.sync.server import ServerConnection, serve

FORGED_SIGNATURE = "ab" * 32


@dataclass(frozen=True)
class Seen:
    """One request a squatter received, exactly as sent."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def raw(self) -> bytes:
        head = "".join(f"{k}: {v}\n" for k, v in self.headers.items())
        return f"{self.method} {self.target}\n{head}\n".encode() + self.body


#: (method, path) -> (status, JSON body) the squatter answers with
Answer = Callable[[str, str], tuple[int, Any]]


@dataclass
class HttpSquatter:
    """An HTTP server on 127.0.0.1 that records requests; answers carry a forged signature."""

    answer: Answer
    port: int = 0
    seen: list[Seen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [request.target.partition("?")[0] for request in list(self.seen)]

    def handler(self) -> type[BaseHTTPRequestHandler]:
        squatter = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                squatter.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                status, payload = squatter.answer(self.command, self.path.partition("?")[0])
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Shipyard-Signature", FORGED_SIGNATURE)
                self.send_header("X-Next-Offset", "999")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def http_squatter(answer: Answer, *, port: int = 0) -> Iterator[HttpSquatter]:
    """Run an HttpSquatter (on `port`, taken over with SO_REUSEADDR, or a free one)."""
    squatter = HttpSquatter(answer)
    server = ThreadingHTTPServer(("127.0.0.1", port), squatter.handler())
    squatter.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield squatter
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class WebSocketSquatter:
    """A WebSocket server on 127.0.0.1 that accepts every handshake (with a forged signature)
    and records the handshake's headers and every message it gets."""

    port: int = 0
    handshakes: list[dict[str, str]] = field(default_factory=list)
    received: list[str | bytes] = field(default_factory=list)

    def handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        self.handshakes.append(dict(connection.request.headers.raw_items()))
        connection.send(b"$ fake prompt ")
        for message in connection:
            self.received.append(message)


@contextmanager
def websocket_squatter() -> Iterator[WebSocketSquatter]:
    squatter = WebSocketSquatter()

    def forge(connection: ServerConnection, request: Any, response: Any) -> None:
        response.headers["X-Shipyard-Signature"] = FORGED_SIGNATURE

    with serve(squatter.handle, "127.0.0.1", 0, process_response=forge) as server:
        squatter.port = server.socket.getsockname()[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield squatter
        finally:
            server.shutdown()
            thread.join(timeout=10)
