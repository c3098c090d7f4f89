"""The request-limits middleware on its own, with a fake server: bodies counted and timed."""

from __future__ import annotations

import json

import anyio
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from shipyard.edge.limits import RequestLimits

MIB = 1024 * 1024


class FakeServer:
    """Feeds a body in `chunks` MiB pieces (optionally stalling after `stall_after`) and
    records what the app answered."""

    def __init__(self, chunks: int, *, declared: int | None = None, stall_after: int = -1):
        self.chunks = chunks
        self.declared = declared
        self.stall_after = stall_after
        self.pulled = 0
        self.sent: list[Message] = []

    def scope(self) -> Scope:
        headers = [(b"content-type", b"application/json")]
        if self.declared is None:
            headers.append((b"transfer-encoding", b"chunked"))
        else:
            headers.append((b"content-length", str(self.declared).encode()))
        return {"type": "http", "method": "POST", "path": "/api/v1/x", "headers": headers}

    async def receive(self) -> Message:
        if self.pulled == self.stall_after:
            await anyio.sleep_forever()
        if self.pulled >= self.chunks:
            await anyio.sleep(0.2)  # after the body: a wait for the client to go away
            return {"type": "http.disconnect"}
        self.pulled += 1
        more = self.pulled < self.chunks
        return {"type": "http.request", "body": b"x" * MIB, "more_body": more}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def error(self) -> str:
        return str(json.loads(self.sent[1]["body"])["error"]["code"])

    @property
    def closes(self) -> bool:
        return (b"connection", b"close") in self.sent[0]["headers"]


async def reads_the_body(scope: Scope, receive: Receive, send: Send) -> None:
    """An endpoint that reads its whole body, then waits once more as streaming ones do."""
    body = await Request(scope, receive).body()
    await receive()
    await JSONResponse({"size": len(body)})(scope, receive, send)


def limited(*, max_body: int = MIB, timeout: float = 5.0) -> RequestLimits:
    return RequestLimits(reads_the_body, max_body=max_body, body_timeout=timeout, streams=no)


def no(scope: Scope) -> bool:
    return False


def serve(middleware: RequestLimits, server: FakeServer) -> None:
    anyio.run(middleware, server.scope(), server.receive, server.send)


def test_a_body_without_a_length_is_cut_off_once_past_the_limit() -> None:
    server = FakeServer(150)
    serve(limited(max_body=MIB), server)
    assert (server.status, server.error, server.closes) == (413, "too_large", True)
    assert server.pulled == 2  # one MiB fits, the second goes past: nothing more is read


def test_a_declared_length_over_the_limit_reads_nothing() -> None:
    server = FakeServer(150, declared=150 * MIB)
    serve(limited(), server)
    assert (server.status, server.pulled) == (413, 0)


def test_a_body_that_stops_arriving_gets_408_and_the_connection_closes() -> None:
    server = FakeServer(3, stall_after=1)
    serve(limited(max_body=10 * MIB, timeout=0.05), server)
    assert (server.status, server.error, server.closes) == (408, "request_timeout", True)


def test_waiting_after_the_whole_body_is_not_timed() -> None:
    server = FakeServer(1)
    serve(limited(max_body=2 * MIB, timeout=0.05), server)
    assert server.status == 200
    assert json.loads(server.sent[1]["body"]) == {"size": MIB}


@pytest.mark.parametrize("value", [b"-1", b"1e6", b"12 34", b""])
def test_a_malformed_length_is_refused(value: bytes) -> None:
    server = FakeServer(1)
    scope = {**server.scope(), "headers": [(b"content-length", value)]}
    anyio.run(limited(), scope, server.receive, server.send)
    assert (server.status, server.error) == (400, "bad_request")


async def ignores_the_body(scope: Scope, receive: Receive, send: Send) -> None:
    await JSONResponse({"ok": True})(scope, receive, send)


def test_an_answer_before_the_body_was_read_closes_the_connection() -> None:
    """Else the unread rest could trickle in after the answer, holding the connection."""
    server = FakeServer(1, declared=MIB)
    middleware = RequestLimits(ignores_the_body, max_body=2 * MIB, body_timeout=5, streams=no)
    serve(middleware, server)
    assert (server.status, server.closes) == (200, True)


def test_a_request_without_a_body_keeps_its_connection() -> None:
    server = FakeServer(0)
    scope = {**server.scope(), "method": "GET", "headers": []}
    middleware = RequestLimits(ignores_the_body, max_body=MIB, body_timeout=5, streams=no)
    anyio.run(middleware, scope, server.receive, server.send)
    assert (server.status, server.closes) == (200, False)
