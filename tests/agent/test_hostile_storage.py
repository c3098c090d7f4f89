"""A hostile session against the manager's file handling: while a real sandboxed session
turns every file it sees in its folder into a FIFO or a unix socket (and plants FIFOs at
names uploads will want), uploads, downloads, listings, moves and deletes through a real
manager each answer without a server error or a hang, and a `/healthz` loop beside them
answers every request throughout the attack (its latency is a figure for a bench, not a
test: under a loaded CI machine it says nothing about the manager).

Before upload staging moved out of folders, the session swapped an upload's temp file for a
FIFO and the manager's next PATCH blocked in open() holding a database connection, until the
pool and then every request froze.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.agent.runtime.base import Mount
from shipyard.agent.runtime.process import ProcessRuntime
from tests.agent.helpers import all_logs, make_spec, wait_for
from tests.conftest import free_port

SHIPYARD = str(Path(sys.executable).parent / "shipyard")
PASSWORD = "Hostile-pass-1!"
ADMIN = "admin@shipyard.local"
ATTACK_SECONDS = 20.0
REQUEST_TIMEOUT = 10.0
HEALTH_EVERY = 0.02
PLANTED = 40  # the session plants FIFOs at up-0.bin ... up-39.bin

ATTACK = r"""
import os, socket, stat, sys, time
top = "/home/work/arena"
sockets, swaps, rounds = [], 0, 0
os.symlink("/", os.path.join(top, "root-link"))
os.symlink("/etc/shadow", os.path.join(top, "shadow"))
os.makedirs(os.path.join(top, "nest"))
while True:
    for base, _dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(base, name)
            try:
                mode = os.lstat(path).st_mode
                if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISLNK(mode):
                    continue
                os.unlink(path)
                if swaps % 4 == 3:
                    server = socket.socket(socket.AF_UNIX)
                    server.bind(path)
                    sockets.append(server)
                    if len(sockets) > 100:
                        sockets.pop(0).close()
                else:
                    os.mkfifo(path)
                swaps += 1
            except OSError:
                pass
    for index in range(40):
        for where in (top, os.path.join(top, "nest")):
            try:
                os.mkfifo(os.path.join(where, "up-%d.bin" % index))
            except OSError:
                pass
    rounds += 1
    if rounds % 100 == 1:
        print("swapped", swaps, flush=True)
    time.sleep(0.002)
"""


@dataclass
class Manager:
    """A `shipyard manager` process of its own, and an API client of its admin."""

    url: str
    data: Path
    process: subprocess.Popen[bytes]
    api: httpx.Client = field(init=False)

    def login(self) -> None:
        def token() -> str | None:
            try:
                reply = httpx.post(
                    f"{self.url}/api/v1/auth/login", json={"email": ADMIN, "password": PASSWORD}
                )
            except httpx.HTTPError:
                return None
            return str(reply.json()["token"]) if reply.status_code == 201 else None

        raw = wait_for(token, timeout=30, what="the manager to accept a login")
        self.api = httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {raw}"},
            timeout=REQUEST_TIMEOUT,
        )


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[Manager]:
    port, data = free_port(), tmp_path / "manager"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(
        SHIPYARD_DATA_DIR=str(data),
        SHIPYARD_ADMIN_PASSWORD=PASSWORD,
        SHIPYARD_ARGON2_TIME_COST="1",
        SHIPYARD_ARGON2_MEMORY_KIB="8192",
    )
    subprocess.run([SHIPYARD, "db", "upgrade"], env=env, check=True, capture_output=True)
    process = subprocess.Popen(
        [SHIPYARD, "manager", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    running = Manager(url=f"http://127.0.0.1:{port}", data=data, process=process)
    try:
        running.login()
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a request stuck for good (the bug this catches)
            process.kill()
            process.wait(timeout=10)
        if hasattr(running, "api"):
            running.api.close()


class Health(threading.Thread):
    """Asks `/healthz` every HEALTH_EVERY seconds until stopped; keeps each latency."""

    def __init__(self, url: str) -> None:
        super().__init__(name="healthz", daemon=True)
        self.url = url
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
            while not self.stop.is_set():
                began = time.perf_counter()
                try:
                    status = client.get(f"{self.url}/healthz").status_code
                except httpx.HTTPError as error:
                    status = 0
                    self.failures.append(repr(error))
                self.latencies.append(time.perf_counter() - began)
                if status != 200:
                    self.failures.append(f"/healthz answered {status}")
                self.stop.wait(HEALTH_EVERY)


@dataclass
class Driver:
    """Drives the folder through the API and keeps what every request answered."""

    api: httpx.Client
    folder: str
    answers: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def call(self, what: str, method: str, url: str, **options: Any) -> httpx.Response | None:
        try:
            reply = self.api.request(method, url, **options)
        except httpx.HTTPError as error:  # a timeout: the manager hung on something
            self.failures.append(f"{what}: {error!r}")
            return None
        self.answers[f"{what} {reply.status_code}"] += 1
        if reply.status_code >= 500:
            self.failures.append(f"{what}: {reply.status_code} {reply.text}")
        elif reply.status_code >= 400:
            assert set(reply.json()["error"]) == {"code", "message", "details"}, reply.text
        return reply

    def upload(self, name: str, *, path: str = "", replace: bool = False) -> None:
        import base64  # noqa: PLC0415

        def b64(text: str) -> str:
            return base64.b64encode(text.encode()).decode()

        fields = {"filename": name, "path": path, "replace": "1" if replace else ""}
        meta = ",".join(f"{key} {b64(value)}" for key, value in fields.items() if value)
        tus = {"Tus-Resumable": "1.0.0"}
        created = self.call(
            "create",
            "POST",
            f"/folders/{self.folder}/uploads",
            headers={**tus, "Upload-Length": str(64 * 1024), "Upload-Metadata": meta},
        )
        if created is None or created.status_code != 201:
            return
        time.sleep(0.1)  # time for the session to find (and swap) whatever it can see
        self.call(
            "append",
            "PATCH",
            created.headers["Location"].removeprefix("/api/v1"),
            content=os.urandom(64 * 1024),
            headers={
                **tus,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        )

    def browse(self, round_: int) -> None:
        for path in ("", "nest"):
            listing = self.call(
                "list", "GET", f"/folders/{self.folder}/files", params={"path": path}
            )
            entries = listing.json()["data"] if listing is not None and listing.is_success else []
            for entry in entries[:8]:
                if entry["type"] != "dir":
                    self.call(
                        "download",
                        "GET",
                        f"/folders/{self.folder}/download",
                        params={"path": entry["path"]},
                    )
            if entries and round_ % 3 == 0:
                victim = entries[round_ % len(entries)]["path"]
                self.call(
                    "move",
                    "POST",
                    f"/folders/{self.folder}/move",
                    json={"source": victim, "target": f"moved-{round_}"},
                )
                self.call(
                    "delete", "DELETE", f"/folders/{self.folder}/files", params={"path": victim}
                )
        self.call("mkdir", "POST", f"/folders/{self.folder}/mkdir", json={"path": f"d-{round_}"})
        self.call("size", "GET", f"/folders/{self.folder}")
        self.call("me", "GET", "/me")


def test_a_session_swapping_files_for_fifos_cannot_slow_or_break_the_manager(
    manager: Manager, runtime: ProcessRuntime
) -> None:
    folder = manager.api.post("/folders", json={"name": "arena"})
    assert folder.status_code == 201, folder.text
    folder_id = folder.json()["id"]
    directory = manager.data / "storage" / uuid.UUID(folder_id).hex
    owner = directory.stat()
    mount = Mount(source=directory, name="arena", access="full")
    spec = make_spec(
        "python3",
        "-c",
        ATTACK,
        mounts=(mount,),
        cpu=Decimal("0.5"),
        network="none",
        uid=owner.st_uid,
        gid=owner.st_gid,
    )
    runtime.start(spec)
    wait_for(lambda: b"swapped" in all_logs(runtime, spec.session_id), what="the attack")

    health = Health(manager.url)
    health.start()
    driver = Driver(manager.api, folder_id)
    deadline, round_ = time.monotonic() + ATTACK_SECONDS, 0
    try:
        while time.monotonic() < deadline and not driver.failures:
            round_ += 1
            driver.upload(f"fresh-{round_}.bin", replace=round_ % 2 == 0)
            driver.upload(f"up-{round_ % PLANTED}.bin", path="nest", replace=round_ % 2 == 1)
            driver.browse(round_)
    finally:
        health.stop.set()
        health.join(timeout=REQUEST_TIMEOUT + 1)

    status = runtime.status(spec.session_id)
    assert status is not None
    assert status.running, all_logs(runtime, spec.session_id).decode()  # attacked throughout
    assert driver.failures == [], driver.answers
    assert health.failures == []
    # The attack reached the manager: it met FIFOs, and uploads still went through.
    assert driver.answers["download 422"] > 0, driver.answers
    assert driver.answers["append 204"] > 0, driver.answers
    assert driver.answers["create 409"] + driver.answers["append 409"] > 0, driver.answers
    assert len(health.latencies) >= 50, "the /healthz loop stalled during the attack"
