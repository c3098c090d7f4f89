"""An agent and the manager authenticate each other (issue 12, finding 1): an agent hands
nothing secret to whatever took the manager's port and runs nothing it is told there; the
agent's API serves only calls the manager signed, and its answers are signed back."""

from __future__ import annotations

import asyncio
import shlex
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from shipyard.agent.daemon import AgentConfig, AgentDaemon
from shipyard.agent.runtime.base import Runtime
from shipyard.agent.runtime.process import ProcessRuntime
from shipyard.agent.server import create_agent_api
from shipyard.agents import signing
from shipyard.agents.models import Agent
from shipyard.agents.schemas import DesiredMount, DesiredSession, DesiredState
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import lifecycle
from shipyard.sessions.models import ComputeSession, SessionStatus, SessionType
from shipyard.users.models import User
from tests.agent.doubles import FakeRuntime
from tests.agent.helpers import make_spec
from tests.api.test_sessions_api import bearer
from tests.conftest import free_port
from tests.factories import Account, Factory
from tests.signed_agent import FACTORY_TOKEN_HASH, new_agent_token
from tests.squatter import http_squatter
from tests.webclient import login

AGENT_API = "/api/v1/agent"


@contextmanager
def serving(app: FastAPI, *, port: int) -> Iterator[str]:
    """Serve an ASGI app on 127.0.0.1:port in a thread; long requests are cut at the end."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def until(condition: Callable[[], Any], *, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def evil_state(mount_source: str) -> dict[str, Any]:
    """A desired state a squatter would send: another user's command, a host path to mount.
    Valid by the schema, so only its missing signature can make the agent refuse it."""
    writable = {"source": mount_source, "name": "host", "read_only": False, "access": "full"}
    mount = {k: v for k, v in writable.items() if k in DesiredMount.model_fields}
    session = {
        "session_id": str(uuid.uuid4()),
        "kind": "batch",
        "command": "cat /home/work/host/shadow",
        "env": {},
        "interpreter": "",
        "path_prefix": "",
        "cpu": "1",
        "mem": 2**30,
        "gpus": 0,
        "mounts": [mount],
        "uid": 60001,
        "user": "work",
        "network": "outbound",
        "network_allow": [],
        "scratch": 2**30,
    }
    state = {
        "version": 10**6,
        "sessions": [{k: v for k, v in session.items() if k in DesiredSession.model_fields}],
    }
    DesiredState.model_validate(state)
    return state


def fake_manager(desired: dict[str, Any]) -> Callable[[str, str], tuple[int, Any]]:
    """What a squatter on the manager's port answers: plausible replies, forged signatures."""
    replies: dict[str, Any] = {
        f"{AGENT_API}/register": {
            "agent_id": "node-s",
            "resource_group": "default",
            "heartbeat_interval": 0.2,
            "lost_after": 5,
        },
        f"{AGENT_API}/heartbeat": {"desired_version": 10**6},
        f"{AGENT_API}/desired": desired,
    }
    return lambda _method, path: (200, replies[path]) if path in replies else (404, {})


def secrets_of(daemon: AgentDaemon, token: str) -> list[bytes]:
    digest = signing.token_hash(token)
    key = signing.manager_key(digest)
    return [token.encode(), digest.encode(), key, key.hex().encode(), daemon.api_secret.encode()]


def test_an_agent_hands_a_squatter_no_secret_and_runs_nothing_it_says(
    app: FastAPI, database: Database, settings: Settings, tmp_path: Path
) -> None:
    """The manager goes away and a squatter takes its port: the registered agent's heartbeats
    and long-polls, and a fresh agent's registrations, carry nothing secret, and the
    squatter's desired state starts nothing."""
    settings.agent_heartbeat_seconds = 0.2
    token = new_agent_token(database)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    runtime, fresh_runtime = FakeRuntime(), FakeRuntime()
    daemon = AgentDaemon(AgentConfig(url, token, tmp_path / "a", agent_id="node-s"), runtime)
    fresh = AgentDaemon(AgentConfig(url, token, tmp_path / "b", agent_id="node-t"), fresh_runtime)

    async def scenario() -> list[str]:
        with serving(app, port=port):
            running = asyncio.create_task(daemon.run())
            await until(daemon.registered.is_set, what="registration with the real manager")
            await until(lambda: daemon.version >= 0, what="the first desired state")
        with http_squatter(fake_manager(evil_state("/etc")), port=port) as squatter:
            starting = asyncio.create_task(fresh.run())
            await until(
                lambda: (
                    squatter.paths().count(f"{AGENT_API}/desired") >= 2
                    and squatter.paths().count(f"{AGENT_API}/heartbeat") >= 2
                    and squatter.paths().count(f"{AGENT_API}/register") >= 2
                ),
                what="the agents to call the squatter again after it answered",
            )
            for task in (running, starting):
                task.cancel()
            await asyncio.gather(running, starting, return_exceptions=True)
        return [request.raw.decode("latin-1") for request in squatter.seen]

    seen = asyncio.run(scenario())

    assert runtime.starts == {}
    assert fresh_runtime.starts == {}
    assert not fresh.registered.is_set()
    assert daemon.version < 10**6
    for secret in secrets_of(daemon, token) + secrets_of(fresh, token):
        assert all(secret.decode("latin-1") not in request for request in seen)
    assert all("Bearer" not in request for request in seen)


def test_an_agent_runs_what_the_real_manager_signs(
    app: FastAPI, database: Database, factory: Factory, tmp_path: Path
) -> None:
    """The same path with the real manager: the session it places reaches the runtime."""
    token = new_agent_token(database)
    port = free_port()
    runtime = FakeRuntime()
    config = AgentConfig(f"http://127.0.0.1:{port}", token, tmp_path, agent_id="node-r")
    daemon = AgentDaemon(config, runtime)
    owner = factory.user().user

    async def scenario() -> str:
        with serving(app, port=port):
            running = asyncio.create_task(daemon.run())
            await until(daemon.registered.is_set, what="registration")
            session = await asyncio.to_thread(place, factory, owner)
            await until(lambda: session.hex in runtime.starts, what="the session to start")
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        return session.hex

    started = asyncio.run(scenario())

    assert runtime.starts == {started: 1}


def place(factory: Factory, owner: User) -> uuid.UUID:
    """A new session of `owner`, placed by a scheduling round."""
    session = factory.session(owner, cpu="1", mem="256m")
    with factory.database.session() as db:
        schedule_once(db)
    return session.id


# -- the agent's API: only the manager, signed, fresh, once ---------------------------------


@dataclass
class AgentApi:
    """An agent API serving one running session, and what the manager knows of it."""

    url: str
    agent: Agent
    session: ComputeSession
    owner: Account


@contextmanager
def agent_api(
    database: Database, factory: Factory, runtime: Runtime, *, kind: SessionType, command: str
) -> Iterator[AgentApi]:
    """Serve `runtime`'s API, with a session of a user placed on it, started and running."""
    owner = factory.user()
    agent = factory.agent()
    session = factory.session(owner.user, kind=kind)
    with database.session() as db:
        schedule_once(db)
        lifecycle.move(db, db.get_one(ComputeSession, session.id), SessionStatus.RUNNING, "Run.")
        db.commit()
    runtime.start(
        make_spec(*shlex.split(command), session_id=session.id.hex, kind=kind.value, network="none")
    )
    port = free_port()
    with serving(create_agent_api(runtime, secret=agent.api_secret), port=port) as url:
        with database.session() as db:
            db.execute(update(Agent).where(Agent.id == agent.id).values(addr=url))
            db.commit()
        yield AgentApi(url, agent, session, owner)


@pytest.fixture
def logs_api(database: Database, factory: Factory) -> Iterator[AgentApi]:
    runtime = FakeRuntime()
    with agent_api(database, factory, runtime, kind=SessionType.BATCH, command="true") as api:
        runtime.print(api.session.id.hex, b"hello from the agent\n")
        yield api


def test_the_manager_reads_logs_through_signed_calls(
    client: TestClient, logs_api: AgentApi
) -> None:
    user = bearer(client, logs_api.owner)

    response = client.get(f"/api/v1/sessions/{logs_api.session.id}/logs", headers=user)

    assert response.status_code == 200
    assert response.json()["data"] == "hello from the agent\n"


def test_the_agent_api_serves_no_unsigned_stale_replayed_or_foreign_call(
    logs_api: AgentApi,
) -> None:
    agent = logs_api.agent
    target = f"/sessions/{logs_api.session.id.hex}/logs?offset=0"
    earlier_process = signing.agent_api_key(
        FACTORY_TOKEN_HASH, agent_id=agent.id, instance="f" * 32
    ).encode()

    def signed(
        key: bytes = agent.api_secret.encode(), now: float | None = None, path: str = target
    ) -> str:
        return signing.sign_request(
            key, kid=agent.id, method="GET", target=path, body=b"", now=now
        )[0]

    def logs(authorization: str) -> httpx.Response:
        return httpx.get(f"{logs_api.url}{target}", headers={"Authorization": authorization})

    replayed = signed()
    assert logs(replayed).content == b"hello from the agent\n"
    for case, authorization in {
        "none": "",
        "bearer": f"Bearer {agent.api_secret}",
        "earlier agent process": signed(earlier_process),
        "too late": signed(now=time.time() - signing.WINDOW - 5),
        "other offset": signed(path=target.replace("offset=0", "offset=5")),
        "replayed": replayed,
    }.items():
        response = logs(authorization)

        assert response.status_code == 401, case
        assert b"hello" not in response.content


def test_the_terminal_runs_through_signed_upgrades_only(
    client: TestClient, database: Database, factory: Factory, runtime: ProcessRuntime
) -> None:
    shell = "/bin/bash --norc -i"
    with agent_api(database, factory, runtime, kind=SessionType.INTERACTIVE, command=shell) as api:
        path = f"/sessions/{api.session.id.hex}/terminal"
        socket_url = api.url.replace("http://", "ws://", 1) + path
        wrong = signing.sign_request(
            b"k" * 32, kid=api.agent.id, method="GET", target=path, body=b""
        )
        for authorization in ("", f"Bearer {api.agent.api_secret}", wrong[0]):
            with pytest.raises(InvalidStatus) as refused:
                connect(socket_url, additional_headers={"Authorization": authorization}).close()

            assert refused.value.response.status_code == 403

        assert login(client, api.owner.email, api.owner.password).status_code == 303
        page = f"/sessions/{api.session.id}/terminal/ws"
        with client.websocket_connect(page, headers={"origin": "http://testserver"}) as terminal:
            terminal.send_bytes(b"echo signed-$((6*7))\n")
            output = b""
            while b"signed-42" not in output:
                output += terminal.receive_bytes()
