"""Sessions in images the agent pulls from the manager by digest (shipyard.agent.images.pull).

A real agent daemon and ProcessRuntime; the manager's blob route is played by a loopback
HTTP server that serves an OCI layout built here (a busybox image), checks each request's
agent signature, and can cut a connection mid-blob or serve bytes that lie about their
digest. The route itself is tested in tests/api/test_agent_blobs.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import socket
import tarfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from shipyard.agent.daemon import AgentConfig, AgentDaemon, argv
from shipyard.agent.runtime.base import ImageRoot
from shipyard.agent.runtime.process import ProcessRuntime
from shipyard.agents import signing
from shipyard.agents.schemas import DesiredImage, DesiredSession, DesiredState
from tests.agent.helpers import all_logs, wait_exited
from tests.agent.test_image_rootfs import OS_RELEASE, build_rootfs
from tests.image_corpus import write_layout

TOKEN = "sya_pull-test"
UID = 200001
BLOB_PATH = re.compile(r"^/api/v1/agent/blobs/(sha256:[0-9a-f]{64})$")


@dataclass
class Served:
    """One answered request: the blob, where its range started, the bytes sent."""

    digest: str
    start: int
    sent: int = 0


@dataclass
class BlobServer:
    """The manager's GET /api/v1/agent/blobs/{digest}, from an OCI layout, with faults."""

    layout: Path
    url: str = ""
    served: list[Served] = field(default_factory=list)
    unsigned: int = 0
    cut_after: dict[str, int] = field(default_factory=dict)  # first answer stops there
    lie: set[str] = field(default_factory=set)  # these blobs' bytes are altered
    hold: dict[str, threading.Event] = field(default_factory=dict)  # wait mid-blob until set

    def sent(self, digest: str) -> list[Served]:
        return [entry for entry in self.served if entry.digest == digest]


def handler(server: BlobServer) -> type[BaseHTTPRequestHandler]:
    key = signing.manager_key(signing.token_hash(TOKEN))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            credentials = signing.parse(self.headers.get("Authorization", ""))
            if credentials is None or not signing.request_valid(
                key, credentials, method="GET", target=self.path, body=b""
            ):
                server.unsigned += 1
                self.send_error(401)
                return
            match = BLOB_PATH.match(self.path)
            path = server.layout / "blobs" / "sha256" / match.group(1)[7:] if match else None
            if path is None or not path.is_file():
                self.send_error(404)
                return
            digest = match.group(1) if match else ""
            data = path.read_bytes()
            if digest in server.lie:
                data = data[:-1] + bytes([data[-1] ^ 1])
            asked = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", "bytes=0-"))
            start = int(asked[1]) if asked else 0
            entry = Served(digest, start)
            server.served.append(entry)
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            body = data[start:]
            cut = server.cut_after.pop(digest, None)
            wait = server.hold.get(digest)
            if wait is not None:
                half = len(body) // 2
                self.wfile.write(body[:half])
                self.wfile.flush()
                entry.sent += half
                wait.wait(30)
                body = body[half:]
            if cut is not None:
                self.wfile.write(body[:cut])
                self.wfile.flush()
                entry.sent += cut
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(body)
            entry.sent += len(body)

    return Handler


@dataclass(frozen=True)
class Image:
    digest: str
    size: int  # the bytes of all its blobs
    layer: str  # its one layer's digest
    layer_size: int


@pytest.fixture(scope="module")
def image_layout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Image]:
    """A busybox image (tests/agent/test_image_rootfs.py) as a one-layer OCI layout."""
    root = build_rootfs(tmp_path_factory.mktemp("image") / "rootfs")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for child in sorted(root.iterdir()):
            tar.add(child, arcname=child.name)
    layout = tmp_path_factory.mktemp("layout")
    digest = write_layout(layout, [buffer.getvalue()], config={"Cmd": ["/bin/sh"]})
    manifest = json.loads((layout / "blobs" / "sha256" / digest[7:]).read_bytes())
    layer = manifest["layers"][0]
    size = (
        len((layout / "blobs" / "sha256" / digest[7:]).read_bytes())
        + manifest["config"]["size"]
        + layer["size"]
    )
    return layout, Image(digest, size, layer["digest"], layer["size"])


@pytest.fixture
def image(image_layout: tuple[Path, Image]) -> Image:
    return image_layout[1]


@pytest.fixture
def server(image_layout: tuple[Path, Image]) -> Iterator[BlobServer]:
    state = BlobServer(image_layout[0])
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    for event in state.hold.values():
        event.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def desired(command: str | None, *, digest: str, size: int, kind: str = "batch") -> DesiredSession:
    return DesiredSession(
        session_id=uuid.uuid4(),
        kind=kind,
        command=command,
        env={},
        interpreter="",
        path_prefix="",
        cpu="1",
        mem=0,
        gpus=0,
        mounts=[],
        uid=UID,
        user="work",
        network="none",
        network_allow=[],
        scratch=0,
        image=DesiredImage(digest=digest, size=size),
    )


class Manager:
    """The manager's client for everything but blobs: records the heartbeats."""

    def __init__(self) -> None:
        self.heartbeats: list[dict[str, Any]] = []

    async def heartbeat(self, payload: dict[str, Any]) -> int:
        self.heartbeats.append(payload)
        return 1

    async def close(self) -> None:
        pass


@pytest.fixture
def make_daemon(tmp_path: Path, runtime: ProcessRuntime, server: BlobServer) -> Iterator[Any]:
    made: list[AgentDaemon] = []

    def make(*, budget: int = 1 << 30) -> AgentDaemon:
        config = AgentConfig(
            server.url, TOKEN, tmp_path / "agent", agent_id="n", image_budget=budget
        )
        daemon = AgentDaemon(config, runtime)
        made.append(daemon)
        return daemon

    yield make
    for daemon in made:
        daemon.quota.stop()
        daemon.puller.close()


def run(daemon: AgentDaemon, *sessions: DesiredSession) -> Manager:
    """Reconcile these sessions, wait until their images are pulled (or failed), heartbeat."""
    manager = Manager()

    async def scenario() -> None:
        await daemon.client.close()
        daemon.client = manager  # type: ignore[assignment]
        await daemon.reconcile(DesiredState(version=1, sessions=list(sessions)))
        pulls = [p.task for p in daemon._preparing.values() if p.task is not None]
        await asyncio.wait_for(asyncio.gather(*pulls), timeout=60)
        await daemon.heartbeat()

    asyncio.run(scenario())
    return manager


def report_of(manager: Manager, session: DesiredSession) -> dict[str, Any]:
    reports: list[dict[str, Any]] = manager.heartbeats[-1]["sessions"]
    [report] = [r for r in reports if r["session_id"] == str(session.session_id)]
    return report


def leftovers(daemon: AgentDaemon) -> list[str]:
    """What the pull left in the agent's layout and the store's work area."""
    root = daemon.images.root
    return sorted(
        str(path.relative_to(root))
        for top in (root / "layout" / "blobs", root / "layout" / "partial", root / "tmp")
        for path in top.rglob("*")
        if path.is_file()
    )


def test_a_session_runs_inside_the_image_it_pulled(
    make_daemon: Any, runtime: ProcessRuntime, server: BlobServer, image: Image
) -> None:
    daemon = make_daemon()
    session = desired("cat /etc/os-release", digest=image.digest, size=image.size)

    run(daemon, session)

    status = wait_exited(runtime, session.session_id.hex, timeout=30)
    assert (status.exit_code, all_logs(runtime, session.session_id.hex).decode()) == (
        0,
        OS_RELEASE,
    )
    assert server.unsigned == 0
    assert {entry.digest for entry in server.served} >= {image.digest, image.layer}
    [stored] = daemon.images.images()
    assert (str(stored.digest), stored.holders) == (image.digest, (session.session_id.hex,))
    assert leftovers(daemon) == []  # the blobs go once the image is unpacked


def test_a_second_session_of_the_image_pulls_nothing(
    make_daemon: Any, runtime: ProcessRuntime, server: BlobServer, image: Image
) -> None:
    daemon = make_daemon()
    first = desired("true", digest=image.digest, size=image.size)
    run(daemon, first)
    requests = len(server.served)

    second = desired("cat /srv/data.txt", digest=image.digest, size=image.size)
    run(daemon, first, second)

    wait_exited(runtime, second.session_id.hex, timeout=30)
    assert all_logs(runtime, second.session_id.hex) == b"image data\n"
    assert len(server.served) == requests


def test_a_blob_that_does_not_match_its_digest_is_refused(
    make_daemon: Any, runtime: ProcessRuntime, server: BlobServer, image: Image
) -> None:
    daemon = make_daemon()
    server.lie.add(image.layer)
    session = desired("cat /etc/os-release", digest=image.digest, size=image.size)

    manager = run(daemon, session)

    report = report_of(manager, session)
    assert report["running"] is False
    assert report["error"] == (
        f"failed to pull the image: blob {image.layer} from the manager does not match its digest"
    )
    assert runtime.status(session.session_id.hex) is None
    assert daemon.images.images() == []
    assert leftovers(daemon) == []
    assert list((daemon.images.root / "holds").iterdir()) == []


def test_a_cut_connection_resumes_where_it_stopped(
    make_daemon: Any, runtime: ProcessRuntime, server: BlobServer, image: Image
) -> None:
    daemon = make_daemon()
    cut = image.layer_size // 3
    server.cut_after[image.layer] = cut
    session = desired("cat /etc/os-release", digest=image.digest, size=image.size)

    run(daemon, session)

    status = wait_exited(runtime, session.session_id.hex, timeout=30)
    assert all_logs(runtime, session.session_id.hex).decode() == OS_RELEASE
    assert status.exit_code == 0
    first, second = server.sent(image.layer)
    assert (first.start, first.sent) == (0, cut)
    assert (second.start, second.sent) == (cut, image.layer_size - cut)


def test_an_unknown_digest_fails_the_session_with_the_reason(
    make_daemon: Any, runtime: ProcessRuntime, image: Image
) -> None:
    daemon = make_daemon()
    unknown = "sha256:" + hashlib.sha256(b"no such image").hexdigest()
    session = desired("true", digest=unknown, size=1000)

    manager = run(daemon, session)

    assert report_of(manager, session)["error"] == (
        f"failed to pull the image: the manager has no blob {unknown} (is the image deleted?)"
    )
    assert runtime.status(session.session_id.hex) is None
    assert daemon.images.images() == []


def test_the_heartbeat_shows_the_pull_while_it_runs(
    make_daemon: Any, server: BlobServer, image: Image
) -> None:
    daemon = make_daemon()
    release = threading.Event()
    server.hold[image.layer] = release
    session = desired("true", digest=image.digest, size=image.size)
    manager = Manager()
    halfway = image.size - image.layer_size + image.layer_size // 2

    async def scenario() -> dict[str, Any]:
        await daemon.client.close()
        daemon.client = manager
        await daemon.reconcile(DesiredState(version=1, sessions=[session]))
        [preparing] = daemon._preparing.values()
        assert preparing.task is not None
        pull = preparing.task
        while preparing.done < halfway:  # the manifest, the config and half the layer
            await asyncio.sleep(0.01)
        await daemon.heartbeat()
        pulling = report_of(manager, session)
        # Called off: the session is no longer wanted.
        await daemon.reconcile(DesiredState(version=2, sessions=[]))
        release.set()
        await asyncio.wait_for(pull, timeout=60)
        await daemon.heartbeat()
        return pulling

    pulling = asyncio.run(scenario())

    assert pulling["running"] is False
    assert pulling["pulling"]["total"] == image.size
    assert pulling["pulling"]["done"] == halfway
    assert manager.heartbeats[-1]["sessions"] == []
    assert daemon.images.images() == []
    assert list((daemon.images.root / "holds").iterdir()) == []


def test_gc_frees_the_image_once_its_session_is_removed(
    make_daemon: Any, runtime: ProcessRuntime, image: Image
) -> None:
    daemon = make_daemon(budget=1)  # any image is over budget
    session = desired("cat /etc/os-release", digest=image.digest, size=image.size)
    run(daemon, session)
    status = wait_exited(runtime, session.session_id.hex, timeout=30)

    assert daemon.images.collect() == []  # held: its session's record is still here
    assert len(daemon.images.images()) == 1

    assert status.finished_at is not None
    long_ago = replace(status, finished_at=status.finished_at - timedelta(days=2))
    asyncio.run(daemon._retire(long_ago))

    assert runtime.status(session.session_id.hex) is None
    assert daemon.images.images() == []
    assert not any((daemon.images.root / "sha256").iterdir())


def test_a_terminal_in_an_image_without_bash_gets_sh(tmp_path: Path, image: Image) -> None:
    root = build_rootfs(tmp_path / "rootfs")
    session = desired(None, digest=image.digest, size=0, kind="interactive")
    no_bash = ImageRoot(rootfs=root)

    assert argv(session, image=no_bash) == ("/bin/sh",)
    assert argv(session) == ("/bin/bash",)
    (root / "bin" / "bash").symlink_to("busybox")
    assert argv(session, image=no_bash) == ("/bin/bash",)
    batch = desired(None, digest=image.digest, size=0)
    assert argv(batch, image=no_bash) == ()  # the image's default command
