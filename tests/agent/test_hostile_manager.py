"""Finding 1 of the attack on sessions, the whole way through `shipyard up` (manager and
embedded agent as root, real sandboxed sessions): a session squats the manager's port and
probes everything the manager side listens on.

The session loops on bind(127.0.0.1:<manager port>) with SO_REUSEADDR, listens and records
whatever arrives; the manager is killed with SIGKILL and started again on the same port.
Before the sandbox had a network of its own, the restarted manager lost its port to the
session, which then received the agent's token, users' API tokens and passwords.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from shipyard.agent import network
from shipyard.agent.runtime.process import ProcessRuntime
from tests.conftest import free_port

SHIPYARD = str(Path(sys.executable).parent / "shipyard")
PASSWORD = "Squat-pass-1!"
ADMIN = "admin@shipyard.local"

#: the hostile session: probe every target, then squat PORT and print what arrives
SQUATTER = r"""
import socket, sys, time
port = int(sys.argv[1])
for target in sys.argv[2:]:
    host, p = target.rsplit(":", 1)
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect((host, int(p))); print("probe", target, "CONNECTED", flush=True)
    except OSError as error:
        print("probe", target, "refused", type(error).__name__, flush=True)
    finally:
        s.close()
while True:
    try:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port)); server.listen(16)
        print("squatting", port, flush=True)
        break
    except OSError:
        time.sleep(0.01)
server.settimeout(1)
while True:
    try:
        conn, _ = server.accept()
    except socket.timeout:
        continue
    conn.settimeout(2)
    try:
        print("RECEIVED", conn.recv(65536), flush=True)
    except OSError:
        pass
    conn.close()
"""


def wait_for(condition: Callable[[], Any], *, timeout: float = 30, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return value


@dataclass
class Up:
    """`shipyard up` on a fixed port and data dir, which the test can kill and restart."""

    port: int
    data: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
        env.update(SHIPYARD_ADMIN_PASSWORD=PASSWORD, SHIPYARD_ARGON2_TIME_COST="1",
                   SHIPYARD_ARGON2_MEMORY_KIB="8192")  # fmt: skip
        self.process = subprocess.Popen(
            [SHIPYARD, "up", "--data-dir", str(self.data), "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def api(self) -> httpx.Client:
        def token() -> str | None:
            try:
                reply = httpx.post(
                    f"{self.url}/api/v1/auth/login", json={"email": ADMIN, "password": PASSWORD}
                )
            except httpx.HTTPError:
                return None
            return str(reply.json()["token"]) if reply.status_code == 201 else None

        raw = wait_for(token, what="shipyard up to answer")
        return httpx.Client(
            base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {raw}"}, timeout=30
        )


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    running = Up(port=free_port(), data=tmp_path / "data")
    running.start()
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            running.process.send_signal(signal.SIGINT)
            running.process.wait(timeout=20)
        runtime = ProcessRuntime(running.data / "agent" / "sessions")
        for status in runtime.list():
            runtime.terminate(status.session_id, grace=1)
            runtime.remove(status.session_id)


def ok(reply: httpx.Response) -> Any:
    assert reply.status_code < 400, reply.text
    return reply.json() if reply.content else None


def logs_of(api: httpx.Client, session_id: str) -> str:
    """The session's output so far; "" while its agent cannot be reached (409), as just
    after a restart, before the agent has re-registered."""
    reply = api.get(f"/sessions/{session_id}/logs")
    if reply.status_code == 409:
        return ""
    return str(ok(reply)["data"])


def targets(up: Up, api: httpx.Client) -> list[str]:
    """Everything on the manager's side: the manager (and /metrics) on every host address
    and through slirp's gateway, the agent's API, and PostgreSQL when the suite has one."""

    def registered() -> list[dict[str, Any]]:
        agents = ok(api.get("/admin/agents"))
        return list(agents["data"] if isinstance(agents, dict) else agents)

    agent = urlsplit(wait_for(registered, what="the embedded agent to register")[0]["addr"])
    found = [f"127.0.0.1:{up.port}", f"10.0.2.2:{up.port}", f"127.0.0.1:{agent.port}"]
    found += [f"{a}:{up.port}" for a in network.host_addresses() if not a.startswith("127.")]
    database = os.environ.get("SHIPYARD_TEST_DATABASE_URL", "")
    if database:
        parsed = urlsplit(database.replace("postgresql+psycopg", "postgresql"))
        found.append(f"{parsed.hostname or '127.0.0.1'}:{parsed.port or 5432}")
    return found


def test_a_session_squatting_the_managers_port_gets_nothing(up: Up) -> None:
    with up.api() as api:
        probes = targets(up, api)
        body = {
            "command": f"exec python3 -u -c '{SQUATTER}' {up.port} {' '.join(probes)}",
            "resources": {"cpu": "0.5", "mem": "256m"},
        }

        def created() -> dict[str, Any] | None:
            reply = api.post("/sessions", json=body)
            return reply.json() if reply.status_code == 201 else None

        session = wait_for(created, what="the session to be accepted")
        wait_for(
            lambda: "squatting" in logs_of(api, session["id"]),
            what="the session to squat the port",
        )
    up.kill()
    up.start()  # the same port: in the session's own network namespace, the squat is harmless
    with up.api() as api:
        wait_for(
            lambda: ok(api.get(f"/sessions/{session['id']}"))["status"] == "RUNNING",
            what="the restarted manager to see the session running again",
        )
        assert ok(api.post("/sessions/check", json={"resources": {"cpu": "0.5"}})) is not None
        seen = wait_for(
            lambda: logs_of(api, session["id"]) or None,
            what="the restarted manager to reach the session's agent again",
        )
        ok(api.delete(f"/sessions/{session['id']}"))

    lines = seen.replace("\\n", "\n").splitlines()
    probed = [line for line in lines if line.startswith("probe")]
    assert len(probed) == len(probes), seen
    assert all(" refused " in line for line in probed), probed
    assert not any("RECEIVED" in line for line in lines), seen
    for secret in ("Bearer", "sya_", "Shipyard-HMAC", PASSWORD):
        assert secret not in seen


def test_the_manager_keeps_its_port_against_a_session(up: Up) -> None:
    """The plain fact behind the previous test: a session's bind is not the host's."""
    with up.api() as api:
        body = {
            "command": "python3 -u -c 'import socket; s=socket.socket(); "
            f's.bind(("127.0.0.1", {up.port})); s.listen(); print("bound"); '
            "import time; time.sleep(60)'",
            "resources": {"cpu": "0.5", "mem": "256m"},
        }
        session = wait_for(
            lambda: (r := api.post("/sessions", json=body)).status_code == 201 and r.json(),
            what="the session to be accepted",
        )
        wait_for(
            lambda: "bound" in ok(api.get(f"/sessions/{session['id']}/logs"))["data"],
            what="the session to bind the manager's port",
        )

        with socket.create_connection(("127.0.0.1", up.port), timeout=5) as probe:
            probe.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            answer = probe.recv(200)

        assert answer.startswith(b"HTTP/1.1 200"), answer
        ok(api.delete(f"/sessions/{session['id']}"))
