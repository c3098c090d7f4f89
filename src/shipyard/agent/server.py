"""The agent's own small API, called by the manager only: session logs (and terminals)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, WebSocket
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from shipyard.agent.runtime.base import Runtime, SessionError
from shipyard.agent.runtime.terminal import TerminalClosed, TerminalConnection, attach

SESSION_ID = r"^[0-9a-f]{32}$"


def create_agent_api(runtime: Runtime, *, secret: str) -> FastAPI:
    app = FastAPI(title="Shipyard agent", docs_url=None, redoc_url=None, openapi_url=None)

    def manager_only(authorization: Annotated[str, Header()] = "") -> None:
        scheme, _sep, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(value.strip(), secret):
            raise HTTPException(status_code=401, detail="manager credentials required")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/sessions/{session_id}/logs", dependencies=[Depends(manager_only)])
    async def logs(
        session_id: Annotated[str, Path(pattern=SESSION_ID)],
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        if await run_in_threadpool(runtime.status, session_id) is None:
            raise HTTPException(status_code=404, detail="no such session")
        data, next_offset = await run_in_threadpool(runtime.read_logs, session_id, offset=offset)
        return Response(
            content=data,
            media_type="application/octet-stream",
            headers={"X-Next-Offset": str(next_offset)},
        )

    @app.websocket("/sessions/{session_id}/terminal")
    async def terminal(websocket: WebSocket, session_id: str) -> None:
        """Bridge a WebSocket to the session's PTY: binary in = keystrokes, binary out =
        output, text {"type": "resize", "rows", "cols"} = a window size change."""
        scheme, _sep, value = websocket.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(value.strip(), secret):
            await websocket.close(code=4401)
            return
        try:
            path = await run_in_threadpool(runtime.terminal_socket, session_id)
            connection = await run_in_threadpool(attach, path)
        except (SessionError, OSError, ValueError):
            await websocket.close(code=4404)
            return
        await websocket.accept()
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
