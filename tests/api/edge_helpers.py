"""The app served the way `shipyard up` serves it (uvicorn with the edge options), on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from shipyard.edge.protocol import uvicorn_options


@contextmanager
def served(app: FastAPI) -> Iterator[tuple[str, int]]:
    """Serve `app` on a free loopback port as production does; yields (host, port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        **uvicorn_options(app.state.settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def read_until_closed(connection: socket.socket, *, limit: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection.

    Raises TimeoutError when the server keeps the connection open for `limit` seconds.
    """
    connection.settimeout(limit)
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received
