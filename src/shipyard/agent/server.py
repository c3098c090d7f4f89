"""The agent's own small API, called by the manager only: session logs and terminals.

Every call must be signed by the manager with this agent process's key and every answer is
signed back (shipyard.agents.signing): nothing is served to an unsigned, stale or replayed
call, and the manager takes no answer from whatever else might listen on this port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from shipyard.agent.runtime.base import Runtime, SessionError
from shipyard.agent.runtime.terminal import TerminalClosed, TerminalConnection, attach
from shipyard.agents import signing

SESSION_ID = r"^[0-9a-f]{32}$"


class ManagerSignatures:
    """Verifies the manager's calls and signs the answers, with one agent process's key."""

    def __init__(self, secret: str) -> None:
        self.key = secret.encode("utf-8")
        self.replays = signing.ReplayGuard()

    def verify(
        self, connection: HTTPConnection, *, method: str, body: bytes
    ) -> signing.Credentials:
        """The call's credentials; HTTPException 401 unless signed, fresh and first seen."""
        credentials = signing.parse(connection.headers.get("authorization", ""))
        valid = credentials is not None and signing.request_valid(
            self.key,
            credentials,
            method=method,
            target=signing.target_of(connection.scope),
            body=body,
        )
        if credentials is None or not valid or not self.replays.first_use(credentials.nonce):
            raise HTTPException(status_code=401, detail="manager signature required")
        return credentials

    def sign(self, response: Response, credentials: signing.Credentials) -> Response:
        response.headers[signing.SIGNATURE_HEADER] = self.signature(
            credentials, status=response.status_code, headers=response.headers, body=response.body
        )
        return response

    def signature(
        self,
        credentials: signing.Credentials,
        *,
        status: int,
        headers: signing.Headers,
        body: bytes | memoryview,
    ) -> str:
        return signing.sign_answer(
            self.key,
            kid=credentials.kid,
            nonce=credentials.nonce,
            status=status,
            headers=headers,
            body=bytes(body),
        )


async def manager_only(request: Request) -> signing.Credentials:
    """The manager's verified credentials on this call (else 401: nothing runs)."""
    signatures: ManagerSignatures = request.app.state.signatures
    return signatures.verify(request, method=request.method, body=await request.body())


ManagerCall = Annotated[signing.Credentials, Depends(manager_only)]


def create_agent_api(runtime: Runtime, *, secret: str) -> FastAPI:
    """The agent API; `secret` is this process's key (AgentDaemon.api_secret)."""
    app = FastAPI(title="Shipyard agent", docs_url=None, redoc_url=None, openapi_url=None)
    signatures = app.state.signatures = ManagerSignatures(secret)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/sessions/{session_id}/logs")
    async def logs(
        call: ManagerCall,
        session_id: Annotated[str, Path(pattern=SESSION_ID)],
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        if await run_in_threadpool(runtime.status, session_id) is None:
            return signatures.sign(JSONResponse({"detail": "no such session"}, 404), call)
        data, next_offset = await run_in_threadpool(runtime.read_logs, session_id, offset=offset)
        response = Response(
            content=data,
            media_type="application/octet-stream",
            headers={"X-Next-Offset": str(next_offset)},
        )
        return signatures.sign(response, call)

    @app.websocket("/sessions/{session_id}/terminal")
    async def terminal(websocket: WebSocket, session_id: str) -> None:
        """Bridge a WebSocket to the session's PTY: binary in = keystrokes, binary out =
        output, text {"type": "resize", "rows", "cols"} = a window size change."""
        try:
            call = signatures.verify(websocket, method="GET", body=b"")
        except HTTPException:
            await websocket.close(code=4401)
            return
        try:
            path = await run_in_threadpool(runtime.terminal_socket, session_id)
            connection = await run_in_threadpool(attach, path)
        except (SessionError, OSError, ValueError):
            await websocket.close(code=4404)
            return
        proof = signatures.signature(call, status=101, headers={}, body=b"")
        await websocket.accept(
            headers=[(signing.SIGNATURE_HEADER.lower().encode(), proof.encode())]
        )
        try:
            await bridge(websocket, connection)
        finally:
            connection.close()

    return app


async def bridge(websocket: WebSocket, connection: TerminalConnection) -> None:
    """Pump bytes both ways until either side ends."""
    loop = asyncio.get_running_loop()
    output: asyncio.Queue[bytes | None] = asyncio.Queue()

    def readable() -> None:
        try:
            data = connection.recv(0)
        except (TerminalClosed, OSError):
            loop.remove_reader(connection.fileno())
            output.put_nowait(None)
            return
        if data:
            output.put_nowait(data)

    loop.add_reader(connection.fileno(), readable)

    async def to_browser() -> None:
        while (data := await output.get()) is not None:
            await websocket.send_bytes(data)
        await websocket.close(code=1000)

    async def to_terminal() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes"):
                await run_in_threadpool(connection.send, message["bytes"])
            elif message.get("text"):
                rows, cols = resize_of(message["text"])
                if rows:
                    await run_in_threadpool(connection.resize, rows, cols)

    tasks = [asyncio.create_task(to_browser()), asyncio.create_task(to_terminal())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(connection.fileno())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def resize_of(text: str) -> tuple[int, int]:
    """(rows, cols) of a resize message, or (0, 0) for anything else."""
    try:
        message = json.loads(text)
        rows, cols = int(message["rows"]), int(message["cols"])
    except (ValueError, KeyError, TypeError):
        return 0, 0
    if message.get("type") != "resize" or not (0 < rows < 1000 and 0 < cols < 1000):
        return 0, 0
    return rows, cols
