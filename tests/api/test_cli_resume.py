"""Interrupted transfers: the real `shipyard folder` executable against a real `shipyard
manager` process (the behaviour is about processes: Ctrl-C, a connection that dies).

The manager serves this test's database and data dir, so the factory makes its users. A
loopback proxy that stalls the connection part-way (`StallingProxy`) stands for a network
that dies mid-transfer; the command is then interrupted with Ctrl-C (SIGINT) and rerun.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest

from shipyard.config import Settings
from tests.api.test_cli_folders import MIB, names, random_file, sha256
from tests.api.test_cli_server import SHIPYARD, clean_env, wait_ready
from tests.conftest import free_port
from tests.factories import Account, Factory

BIG = 40 * MIB
T = TypeVar("T")


@dataclass(frozen=True)
class Cli:
    """`shipyard folder` as one user, with a home (config, resume state) of its own."""

    endpoint: str
    token: str
    home: Path

    def env(self) -> dict[str, str]:
        return {
            **clean_env(),
            "SHIPYARD_ENDPOINT": self.endpoint,
            "SHIPYARD_TOKEN": self.token,
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_STATE_HOME": str(self.home / "state"),
            "COLUMNS": "200",
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SHIPYARD, "folder", *args],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "-o", "json"))

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [SHIPYARD, "folder", *args],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def via(self, endpoint: str) -> Cli:
        return replace(self, endpoint=endpoint)

    @property
    def state_file(self) -> Path:
        return self.home / "state" / "shipyard" / "uploads.json"


@pytest.fixture
def manager(settings: Settings, database_url: str, tmp_path: Path) -> Iterator[str]:
    """`shipyard manager` on a free port, serving this test's database and data dir."""
    port = free_port()
    env = {**clean_env(), "SHIPYARD_DATABASE_URL": database_url}
    command = [SHIPYARD, "manager", "--data-dir", str(settings.data_dir), "--port", str(port)]
    with (tmp_path / "manager.log").open("w") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)


@pytest.fixture
def people(manager: str, factory: Factory, tmp_path: Path) -> Callable[[], Cli]:
    """Makes users, each logged in through the API, each with a CLI of their own."""

    def person() -> Cli:
        account = factory.user()
        return Cli(manager, _token(manager, account), tmp_path / f"home-{account.email}")

    return person


def _token(url: str, account: Account) -> str:
    body = {"email": account.email, "password": account.password}
    token: str = (
        httpx.post(f"{url}/api/v1/auth/login", json=body).raise_for_status().json()["token"]
    )
    return token


class StallingProxy:
    """A loopback TCP proxy that, once, stops forwarding after `limit` bytes one way.

    Stands for a network that dies part-way through a transfer; `cut()` then closes that
    connection. Later connections pass freely. `forwarded` counts the bytes each way.
    """

    def __init__(self, upstream: str, *, limit: int, direction: str) -> None:
        self.upstream = urlsplit(upstream).port
        self.limit, self.direction = limit, direction
        self.forwarded = {"up": 0, "down": 0}
        self.stalled = threading.Event()
        self.stuck: list[socket.socket] = []
        self.sockets: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            self.sockets += [client, server]
            for pair in ((client, server, "up"), (server, client, "down")):
                threading.Thread(target=self._pump, args=pair, daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, way: str) -> None:
        try:
            while data := source.recv(256 * 1024):
                if way == self.direction and not self.stalled.is_set():
                    room = self.limit - self.forwarded[way]
                    if room <= len(data):
                        target.sendall(data[:room])
                        self.forwarded[way] += room
                        self.stuck = [source, target]
                        self.stalled.set()
                        return  # hold the connection open, forwarding nothing more
                target.sendall(data)
                self.forwarded[way] += len(data)
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def cut(self) -> None:
        for stuck in self.stuck:
            with contextlib.suppress(OSError):  # the other side may have gone already
                stuck.shutdown(socket.SHUT_RDWR)  # wakes the other pump: close() would not
            stuck.close()

    def close(self) -> None:
        self.stuck = [self.listener, *self.sockets]  # shutdown wakes the accept() too
        self.cut()


@pytest.fixture
def stalling(manager: str) -> Iterator[Callable[[str], StallingProxy]]:
    made: list[StallingProxy] = []

    def make(direction: str) -> StallingProxy:
        made.append(StallingProxy(manager, limit=int(BIG * 0.4), direction=direction))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


def eventually(check: Callable[[], T | None], what: str) -> T:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def interrupt(process: subprocess.Popen[str]) -> str:
    """Ctrl-C: the command says how to resume and ends with the shell's code for it."""
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "run the same command again" in err
    return err


def test_an_interrupted_upload_resumes_where_the_server_stands(
    people: Callable[[], Cli],
    stalling: Callable[[str], StallingProxy],
    manager: str,
    tmp_path: Path,
) -> None:
    alice = people()
    alice.ok("create", "big")
    big = random_file(tmp_path / "big.bin", BIG)
    proxy = stalling("up")
    flaky = alice.via(proxy.url)

    running = flaky.start("upload", "big", str(big))
    assert proxy.stalled.wait(30)
    upload_url = eventually(lambda: _state_urls(alice), "the upload is remembered")[0]
    offset = eventually(lambda: _offset(manager, alice, upload_url, at_least=BIG * 0.3), "30 %")
    interrupt(running)
    proxy.cut()
    assert _state_urls(alice) == [upload_url]  # kept for the rerun
    assert "big.bin" not in names(alice.json("ls", "big"))  # a partial file is never listed

    proxy.forwarded["up"] = 0
    resumed = flaky.json("upload", "big", str(big))["uploaded"][0]
    assert offset <= resumed["resumed_from"] < BIG
    assert proxy.forwarded["up"] < BIG - offset + MIB  # only the rest went over the wire
    assert _state_urls(alice) == []
    alice.ok("download", "big", "big.bin", str(tmp_path / "back.bin"))
    assert sha256(tmp_path / "back.bin") == sha256(big)


def _state_urls(cli: Cli) -> list[str] | None:
    if not cli.state_file.exists():
        return None
    return [entry["url"] for entry in json.loads(cli.state_file.read_text())["uploads"]]


def _offset(manager: str, cli: Cli, url: str, *, at_least: float) -> int | None:
    """The server's offset for an upload, asked directly (not through the proxy)."""
    headers = {"Authorization": f"Bearer {cli.token}", "Tus-Resumable": "1.0.0"}
    answer = httpx.head(manager + urlsplit(url).path, headers=headers)
    offset = int(answer.headers["Upload-Offset"])
    return offset if offset >= at_least else None


def test_an_interrupted_download_resumes_from_the_part_file(
    people: Callable[[], Cli], stalling: Callable[[str], StallingProxy], tmp_path: Path
) -> None:
    alice = people()
    alice.ok("create", "big")
    big = random_file(tmp_path / "big.bin", BIG)
    alice.ok("upload", "big", str(big))
    proxy = stalling("down")
    flaky = alice.via(proxy.url)
    copy = tmp_path / "copy.bin"
    part = tmp_path / "copy.bin.part"

    running = flaky.start("download", "big", "big.bin", str(copy))
    assert proxy.stalled.wait(30)
    eventually(lambda: part.exists() and part.stat().st_size >= BIG * 0.3, "30 % on disk")
    assert "copy.bin.part" in interrupt(running)
    proxy.cut()
    have = part.stat().st_size
    assert not copy.exists()
    assert (tmp_path / "copy.bin.part.etag").read_text().strip()

    proxy.forwarded["down"] = 0
    got = flaky.json("download", "big", "big.bin", str(copy))
    assert got["resumed_from"] == have
    assert proxy.forwarded["down"] < BIG - have + MIB
    assert sha256(copy) == sha256(big)
    assert not part.exists()
    assert not (tmp_path / "copy.bin.part.etag").exists()
