"""Folders mounted into real sandboxed sessions, the whole way: `shipyard up` (manager and
embedded agent, running as root), folders made through the API, sessions that write into
a read-write folder as the session uid and fail to write into a read-only share."""

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
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.users import service as users
from tests.conftest import free_port

SHIPYARD = str(Path(sys.executable).parent / "shipyard")
PASSWORD = "Mounts-pass-1!"
ADMIN = "admin@shipyard.local"
NOBODY = 65534
SESSION_UID_BASE = 200001
FINISHED = {"TERMINATED", "ERROR", "CANCELLED"}


def wait_for(condition: Callable[[], Any], *, timeout: float = 30, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return value


@dataclass
class Shipyard:
    """A running `shipyard up` and an API client for one of its users."""

    url: str
    data: Path
    clients: list[httpx.Client] = field(default_factory=list)

    def login(self, email: str, password: str) -> httpx.Client:
        def token() -> str | None:
            try:
                reply = httpx.post(
                    f"{self.url}/api/v1/auth/login", json={"email": email, "password": password}
                )
            except httpx.HTTPError:
                return None
            return str(reply.json()["token"]) if reply.status_code == 201 else None

        raw = wait_for(token, what="shipyard up to come up")
        client = httpx.Client(
            base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {raw}"}, timeout=30
        )
        self.clients.append(client)
        return client

    def add_user(self, email: str) -> None:
        """A second user, written straight into the manager's database."""
        settings = Settings(data_dir=self.data, argon2_time_cost=1, argon2_memory_kib=8192)
        database = Database(settings.effective_database_url)
        try:
            with database.session() as db:
                users.create_user(db, email=email, password=PASSWORD, settings=settings)
        finally:
            database.dispose()

    def folder_dir(self, folder: dict[str, Any]) -> Path:
        return self.data / "storage" / str(folder["id"]).replace("-", "")


@pytest.fixture
def shipyard(tmp_path: Path) -> Iterator[Shipyard]:
    port = free_port()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_ADMIN_PASSWORD=PASSWORD, SHIPYARD_ARGON2_TIME_COST="1",
               SHIPYARD_ARGON2_MEMORY_KIB="8192")  # fmt: skip
    process = subprocess.Popen(
        [SHIPYARD, "up", "--data-dir", str(data), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    running = Shipyard(url=f"http://127.0.0.1:{port}", data=data)
    try:
        yield running
    finally:
        for client in running.clients:
            client.close()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
        runtime = ProcessRuntime(data / "agent" / "sessions")
        for status in runtime.list():
            runtime.terminate(status.session_id, grace=1)
            runtime.remove(status.session_id)


def ok(reply: httpx.Response) -> Any:
    assert reply.status_code < 400, reply.text
    return reply.json() if reply.content else None


def start_session(api: httpx.Client, command: str, mounts: list[str]) -> dict[str, Any]:
    """A batch session, retried while the embedded agent has not joined yet."""
    body = {"command": command, "mounts": mounts, "resources": {"cpu": "0.5", "mem": "256m"}}

    def created() -> dict[str, Any] | None:
        reply = api.post("/sessions", json=body)
        return reply.json() if reply.status_code == 201 else None

    session: dict[str, Any] = wait_for(created, what="a session to be accepted")
    return session


def status_of(api: httpx.Client, session: dict[str, Any]) -> str:
    return str(ok(api.get(f"/sessions/{session['id']}"))["status"])


def finished(api: httpx.Client, session: dict[str, Any]) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        found: dict[str, Any] = ok(api.get(f"/sessions/{session['id']}"))
        return found if found["status"] in FINISHED else None

    result: dict[str, Any] = wait_for(ended, what=f"session {session['name']} to end")
    return result


def output_of(api: httpx.Client, session: dict[str, Any]) -> str:
    return str(ok(api.get(f"/sessions/{session['id']}/logs"))["data"])


def file_names(api: httpx.Client, folder: str) -> list[str]:
    return [entry["name"] for entry in ok(api.get(f"/folders/{folder}/files"))["data"]]


def test_a_session_writes_into_a_read_write_folder_as_the_session_user(
    shipyard: Shipyard,
) -> None:
    api = shipyard.login(ADMIN, PASSWORD)
    folder = ok(api.post("/folders", json={"name": "results"}))
    directory = shipyard.folder_dir(folder)
    assert directory.stat().st_uid == NOBODY
    (directory / "input.txt").write_text("from the host\n")

    script = (
        "cat /home/work/results/input.txt; echo hi > /home/work/results/out.txt; "
        "id -u > /home/work/results/uid.txt; sleep 600"
    )
    session = start_session(api, script, ["results"])
    wait_for(lambda: "uid.txt" in file_names(api, "results"), what="the session's files")

    assert (directory / "out.txt").read_text() == "hi\n"
    assert (directory / "out.txt").stat().st_uid == NOBODY
    # the session ran as the admin's own session uid; bindfs stored its files as the owner's
    assert int((directory / "uid.txt").read_text()) >= SESSION_UID_BASE
    assert file_names(api, "results") == ["input.txt", "out.txt", "uid.txt"]
    wait_for(lambda: status_of(api, session) == "RUNNING", what="the session to be reported")
    wait_for(lambda: "from the host" in output_of(api, session), what="the session's output")

    refused = api.delete("/folders/results")
    assert refused.status_code == 409
    assert session["name"] in refused.json()["error"]["message"]
    assert directory.is_dir()

    ok(api.delete(f"/sessions/{session['id']}"))
    assert finished(api, session)["status"] == "TERMINATED"
    assert api.delete("/folders/results").status_code == 204
    assert api.get("/folders/results").status_code == 404


def test_a_read_only_share_can_be_read_but_not_changed_in_a_session(
    shipyard: Shipyard,
) -> None:
    admin = shipyard.login(ADMIN, PASSWORD)
    folder = ok(admin.post("/folders", json={"name": "reference"}))
    directory = shipyard.folder_dir(folder)
    (directory / "data.txt").write_text("kept\n")
    shipyard.add_user("reader@example.org")
    ok(admin.post("/folders/reference/invitations",
                  json={"email": "reader@example.org", "permission": "ro"}))  # fmt: skip
    reader = shipyard.login("reader@example.org", PASSWORD)
    invitation = ok(reader.get("/invitations"))["data"][0]
    ok(reader.post(f"/invitations/{invitation['id']}/accept"))

    script = (
        "cat /home/work/reference/data.txt; "
        "echo changed > /home/work/reference/data.txt; echo new > /home/work/reference/new.txt; "
        "rm -f /home/work/reference/data.txt; echo done"
    )
    session = start_session(reader, script, ["reference"])
    assert session["mounts"][0]["read_only"] is True

    assert finished(reader, session)["status"] == "TERMINATED"
    output = output_of(reader, session)
    assert output.startswith("kept\n")
    assert output.count("Read-only file system") == 3, output
    assert output.endswith("done\n")
    assert sorted(p.name for p in directory.iterdir()) == ["data.txt"]
    assert (directory / "data.txt").read_text() == "kept\n"
