"""The browser terminal of an interactive session: the page, and its WebSocket, which the
manager relays to the session's agent (so browsers never talk to agents directly).

The upgrade request to the agent is signed, and the relay starts only once the agent's
handshake answer is signed by the agent process that registered (shipyard.agents.signing):
keystrokes never go to whatever else might listen on the agent's port.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from shipyard.agents import signing
from shipyard.agents.models import Agent
from shipyard.auth import service as auth
from shipyard.config import Settings
from shipyard.db import Database, utcnow
from shipyard.errors import InvalidInput, NotFound
from shipyard.http.deps import DbDep
from shipyard.http.principal import SESSION_COOKIE
from shipyard.i18n import _
from shipyard.sessions import service as sessions
from shipyard.sessions.models import ComputeSession, SessionStatus, SessionType
from shipyard.web import kit
from shipyard.web.deps import CurrentViewer
from shipyard.web.htmx import render

router = APIRouter()
socket_router = APIRouter()
ACTIVITY_EVERY = 30.0  # seconds between last_activity_at writes while someone types


@router.get("/sessions/{session_id}/terminal")
def terminal_page(
    request: Request, session_id: uuid.UUID, viewer: CurrentViewer, db: DbDep
) -> HTMLResponse:
    session = sessions.visible(db, viewer=viewer.user, session_id=session_id)
    if session.type is not SessionType.INTERACTIVE:
        raise InvalidInput(_("Only interactive sessions have a terminal."))
    return render(request, "terminal.html", {"session": session}, viewer=viewer)


@dataclass(frozen=True)
class Upstream:
    url: str
    key: bytes  # the agent process's key (Agent.api_secret)
    kid: str  # the agent's id

    def sign(self) -> tuple[str, str]:
        """(Authorization header, nonce) of the upgrade request."""
        parts = urlsplit(self.url)
        target = f"{parts.path}?{parts.query}" if parts.query else parts.path
        return signing.sign_request(self.key, kid=self.kid, method="GET", target=target, body=b"")

    def answered(self, connection: ClientConnection, nonce: str) -> bool:
        """True when the agent itself signed its handshake answer."""
        response = connection.response
        return response is not None and signing.answer_valid(
            self.key,
            kid=self.kid,
            nonce=nonce,
            status=response.status_code,
            headers=response.headers,
            body=b"",
        )


def _upstream(
    database: Database, settings: Settings, cookie: str, session_id: uuid.UUID
) -> Upstream | None:
    """Where to relay, if the cookie's user may use this running session's terminal."""
    with database.session() as db:
        found = auth.resolve_web_session(db, cookie, settings=settings) if cookie else None
        if found is None:
            return None
        session = kit.attempt(
            lambda: sessions.visible(db, viewer=found[1], session_id=session_id),
            on_done=lambda visible: visible,
            on_refused=lambda _exc: None,
            catch=(NotFound,),
        )
        if session is None or session.owner_id != found[1].id or not _open(session):
            return None
        agent = db.get(Agent, session.agent_id) if session.agent_id else None
        if agent is None:
            return None
        base = (
            agent.addr.rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        )
        return Upstream(
            f"{base}/sessions/{session.id.hex}/terminal",
            key=agent.api_secret.encode("utf-8"),
            kid=agent.id,
        )


def _open(session: ComputeSession) -> bool:
    return session.type is SessionType.INTERACTIVE and session.status is SessionStatus.RUNNING


def _same_origin(websocket: WebSocket) -> bool:
    """Browsers send Origin on WebSocket handshakes; refuse other sites (CSWSH)."""
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    return origin is not None and host is not None and urlsplit(origin).netloc == host


@socket_router.websocket("/sessions/{session_id}/terminal/ws")
async def terminal_socket(websocket: WebSocket, session_id: uuid.UUID) -> None:
    if not _same_origin(websocket):
        await websocket.close(code=4403)
        return
    app = websocket.app
    cookie = websocket.cookies.get(SESSION_COOKIE, "")
    upstream = await run_in_threadpool(
        _upstream, app.state.db, app.state.settings, cookie, session_id
    )
    if upstream is None:
        await websocket.close(code=4404)
        return
    authorization, nonce = upstream.sign()
    try:
        agent = await connect(
            upstream.url,
            additional_headers={"Authorization": authorization},
            max_size=2**20,
            open_timeout=10,
        )
    except (OSError, InvalidHandshake, TimeoutError):
        await websocket.close(code=4502)
        return
    if not upstream.answered(agent, nonce):
        await agent.close()
        await websocket.close(code=4502)
        return
    await websocket.accept()
    try:
        await _relay(websocket, agent, app.state.db, session_id)
    finally:
        await agent.close()


async def _relay(
    websocket: WebSocket, agent: ClientConnection, database: Database, session_id: uuid.UUID
) -> None:
    async def to_browser() -> None:
        async for message in agent:
            if isinstance(message, bytes):
                await websocket.send_bytes(message)
        await websocket.close(code=1000)

    async def to_agent() -> None:
        last_activity = 0.0
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes"):
                await agent.send(message["bytes"])
                now = asyncio.get_running_loop().time()
                if now - last_activity >= ACTIVITY_EVERY:
                    last_activity = now
                    await run_in_threadpool(_touch, database, session_id)
            elif message.get("text"):
                await agent.send(message["text"])

    tasks = [asyncio.create_task(to_browser()), asyncio.create_task(to_agent())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception) and not isinstance(
                result, (ConnectionClosed, asyncio.CancelledError, RuntimeError)
            ):
                raise result


def _touch(database: Database, session_id: uuid.UUID) -> None:
    """Typing counts as activity (the idle timeout looks at it)."""
    with database.session() as db:
        session = db.get(ComputeSession, session_id)
        if session is not None:
            session.last_activity_at = utcnow()
            db.commit()
