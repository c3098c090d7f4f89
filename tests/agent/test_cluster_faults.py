"""A real manager and a real agent as separate processes, and the faults a cluster meets:
the agent killed with -9 and restarted, the agent gone for good, the manager restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.agent.runtime.process import ProcessRuntime
from shipyard.db import Database
from shipyard.resources import ledger
from shipyard.resources.models import Scope
from shipyard.sessions import recount
from tests.conftest import free_port

SHIPYARD = str(Path(sys.executable).parent / "shipyard")
PASSWORD = "Cluster-pass-1!"


def wait_for(condition: Callable[[], Any], *, timeout: float = 20, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Cluster:
    root: Path
    port: int = field(default_factory=free_port)
    agent_port: int = field(default_factory=free_port)
    manager: subprocess.Popen[bytes] | None = None
    agent: subprocess.Popen[bytes] | None = None
    token: str = ""
    agent_token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
        env.update(
            SHIPYARD_DATA_DIR=str(self.root / "manager"),
            SHIPYARD_ADMIN_PASSWORD=PASSWORD,
            SHIPYARD_ARGON2_TIME_COST="1",
            SHIPYARD_ARGON2_MEMORY_KIB="8192",
            SHIPYARD_AGENT_HEARTBEAT_SECONDS="0.5",
            SHIPYARD_AGENT_LOST_SECONDS="4",
            SHIPYARD_SCHEDULER_TICK_SECONDS="0.5",
        )
        return env

    def start_manager(self) -> None:
        if not (self.root / "manager").exists():
            subprocess.run([SHIPYARD, "db", "upgrade"], env=self.env(), check=True,
                           capture_output=True)  # fmt: skip
        self.manager = subprocess.Popen(
            [SHIPYARD, "manager", "--port", str(self.port)],
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._ready, what="the manager")

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop_manager(self) -> None:
        assert self.manager is not None
        self.manager.send_signal(signal.SIGINT)
        self.manager.wait(timeout=20)

    def start_agent(self) -> None:
        self.agent = subprocess.Popen(
            [SHIPYARD, "agent", "--manager", self.url, "--token", self.agent_token,
             "--data-dir", str(self.root / "agent"), "--listen", f"127.0.0.1:{self.agent_port}"],
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip

    def kill_agent(self) -> None:
        assert self.agent is not None
        self.agent.send_signal(signal.SIGKILL)
        self.agent.wait(timeout=10)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method, f"{self.url}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.token}"}, timeout=30, **kwargs
        )  # fmt: skip
        assert response.status_code < 400, response.text
        return response.json()

    def status(self, session_id: str) -> str:
        return str(self.api("GET", f"/sessions/{session_id}")["status"])

    def ledger(self) -> tuple[dict[str, ledger.Held], list[ledger.Drift]]:
        database = Database(f"sqlite:///{self.root / 'manager' / 'shipyard.db'}")
        try:
            with database.session() as db:
                agents = ledger.held_by_all(db, Scope.AGENT)
                drift = recount.rebuild(db)
                db.rollback()
            return agents, drift
        finally:
            database.dispose()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    found = Cluster(tmp_path)
    found.start_manager()
    login = httpx.post(
        f"{found.url}/api/v1/auth/login",
        json={"email": "admin@shipyard.local", "password": PASSWORD},
    )
    found.token = login.json()["token"]
    found.agent_token = found.api("POST", "/admin/agent-tokens", json={})["token"]
    found.start_agent()
    wait_for(
        lambda: found.api("POST", "/sessions/check", json={"resources": {"cpu": "0.5"}})["fits"],
        what="the agent to join",
    )
    try:
        yield found
    finally:
        for process in (found.agent, found.manager):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        runtime = ProcessRuntime(tmp_path / "agent" / "sessions")
        for status in runtime.list():
            runtime.terminate(status.session_id, grace=1)
            runtime.remove(status.session_id)


def start_sleeper(cluster: Cluster) -> str:
    created = cluster.api(
        "POST",
        "/sessions",
        json={"command": "sleep 300", "resources": {"cpu": "0.5", "mem": "128m"}},
    )
    wait_for(lambda: cluster.status(created["id"]) == "RUNNING", what="RUNNING")
    return str(created["id"])


def supervisor_alive(session_id: str) -> bool:
    pattern = session_id.replace("-", "")
    found = subprocess.run(["pgrep", "-f", pattern], check=False, capture_output=True)
    return found.returncode == 0


def test_a_killed_agent_re_adopts_its_running_sessions(cluster: Cluster) -> None:
    session_id = start_sleeper(cluster)
    cluster.kill_agent()
    time.sleep(1)
    assert supervisor_alive(session_id), "the session must outlive its agent"
    assert cluster.status(session_id) == "RUNNING"
    cluster.start_agent()
    time.sleep(2)  # a few heartbeats from the new agent process
    assert cluster.status(session_id) == "RUNNING"
    assert cluster.api("DELETE", f"/sessions/{session_id}")["status"] == "TERMINATING"
    wait_for(lambda: cluster.status(session_id) == "TERMINATED", what="TERMINATED")
    wait_for(lambda: not supervisor_alive(session_id), what="the session's processes to end")
    agents, drift = cluster.ledger()
    assert drift == []
    assert all(held == ledger.EMPTY for held in agents.values())


def test_an_agent_gone_for_good_is_lost_and_its_resources_return(cluster: Cluster) -> None:
    session_id = start_sleeper(cluster)
    cluster.kill_agent()
    wait_for(lambda: cluster.status(session_id) == "ERROR", timeout=30, what="ERROR")
    ended = cluster.api("GET", f"/sessions/{session_id}")
    assert ended["status_info"] == "The agent was lost."
    agents, drift = cluster.ledger()
    assert drift == []
    assert all(held == ledger.EMPTY for held in agents.values())


def test_a_restarted_manager_loses_and_double_counts_nothing(cluster: Cluster) -> None:
    session_id = start_sleeper(cluster)
    before, _ = cluster.ledger()
    cluster.stop_manager()
    cluster.start_manager()
    time.sleep(2)  # the agent reconnects and reports
    assert cluster.status(session_id) == "RUNNING"
    after, drift = cluster.ledger()
    assert drift == []
    assert after == before
    assert sum(held.sessions for held in after.values()) == 1
