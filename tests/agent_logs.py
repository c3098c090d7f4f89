"""A fake agent's logs endpoint on loopback: a session's output, served as a real agent serves it.

Answers are signed with the agent's API key (the manager checks them), in reads of at most
`chunk` bytes from the offset asked for. `forget()` makes it answer 404, as an agent does
once its 24 h cleanup removed an ended session.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from shipyard.agents import signing
from shipyard.agents.models import Agent
from shipyard.db import Database


class AgentLogs:
    """What the fake agent serves; change `output` or call forget() while it runs."""

    def __init__(self, key: bytes, output: bytes, chunk: int) -> None:
        self.key = key
        self.output = output
        self.chunk = chunk
        self.forgotten = False
        self.reads = 0

    def forget(self) -> None:
        self.forgotten = True


def _handler(logs: AgentLogs) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            logs.reads += 1
            offset = int(self.path.rsplit("offset=", 1)[1])
            data = logs.output[offset : offset + logs.chunk]
            status = 404 if logs.forgotten else 200
            body = b'{"detail": "no such session"}' if logs.forgotten else data
            credentials = signing.parse(self.headers.get("Authorization", ""))
            assert credentials is not None, "the manager called the agent unsigned"
            headers = httpx.Headers({"X-Next-Offset": str(offset + len(data))})
            signature = signing.sign_answer(
                logs.key, kid=credentials.kid, nonce=credentials.nonce, status=status,
                headers=headers, body=body,
            )  # fmt: skip
            self.send_response(status)
            self.send_header("X-Next-Offset", headers["X-Next-Offset"])
            self.send_header(signing.SIGNATURE_HEADER, signature)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serving(
    database: Database, agent: Agent, output: bytes, *, chunk: int = 65536
) -> Iterator[AgentLogs]:
    """The agent (its address moved to a loopback server) serves `output` until the end."""
    logs = AgentLogs(agent.api_secret.encode("utf-8"), output, chunk)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(logs))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with database.session() as db:
        db.get_one(Agent, agent.id).addr = f"http://127.0.0.1:{server.server_address[1]}"
        db.commit()
    try:
        yield logs
    finally:
        server.shutdown()
        server.server_close()
