"""A 200 MB file through a real `shipyard manager` process: whole, and resumed after a drop.

The upload is interrupted twice: by the client dropping its connection mid-request, and by
the manager being killed (SIGKILL) and started again. Each time the client asks the offset
and sends the rest; the file that arrives is byte for byte the one that left.
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from shipyard.config import Settings
from shipyard.storage.models import Folder
from tests.api.test_cli_server import SHIPYARD, clean_env, wait_ready
from tests.conftest import free_port
from tests.factories import Account, Factory

SIZE = 200 * 10**6
BLOCK = 1 << 20
HALF = SIZE // 2 // BLOCK * BLOCK  # where the interruptions come: a block boundary
TUS = {"Tus-Resumable": "1.0.0"}


class Dropped(Exception):
    """The client gives up mid-request, as a closed laptop lid would."""


@contextmanager
def manager(settings: Settings, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`shipyard manager` on this test's database and data dir, on a free loopback port."""
    port = free_port()
    env = {
        **clean_env(),
        "SHIPYARD_DATA_DIR": str(settings.data_dir),
        "SHIPYARD_DATABASE_URL": settings.effective_database_url,
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            [SHIPYARD, "manager", "--port", str(port)], env=env, stdout=output, stderr=output
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)  # type: ignore[arg-type]  # it only polls the process
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=20)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("big") / "random.bin"
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _block in range(SIZE // BLOCK):
            data = os.urandom(BLOCK)
            digest.update(data)
            out.write(data)
        rest = os.urandom(SIZE % BLOCK)
        digest.update(rest)
        out.write(rest)
    return path, digest.hexdigest()


def chunks(
    path: Path, start: int, *, on_byte: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The file from `start` on, in 1 MiB pieces; `on_byte(position)` may interrupt it."""
    with path.open("rb") as source:
        source.seek(start)
        position = start
        while block := source.read(BLOCK):
            if on_byte is not None:
                on_byte(position)
            yield block
            position += len(block)


def login(client: httpx.Client, account: Account) -> None:
    answer = client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": account.password}
    )
    assert answer.status_code == 201, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"


def create(client: httpx.Client, folder: Folder, name: str) -> str:
    meta = "filename " + base64.b64encode(name.encode()).decode()
    answer = client.post(
        f"/api/v1/folders/{folder.id}/uploads",
        headers={**TUS, "Upload-Length": str(SIZE), "Upload-Metadata": meta},
    )
    assert answer.status_code == 201, answer.text
    return answer.headers["Location"]


def patch(
    client: httpx.Client,
    location: str,
    path: Path,
    *,
    start: int,
    end: int,
    on_byte: Callable[[int], None] | None = None,
) -> httpx.Response:
    def limited() -> Iterator[bytes]:
        sent = start
        for block in chunks(path, start, on_byte=on_byte):
            piece = block[: end - sent]
            if not piece:
                return
            sent += len(piece)
            yield piece

    return client.patch(
        location,
        content=limited(),
        headers={
            **TUS,
            "Upload-Offset": str(start),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(end - start),
        },
    )


def offset(client: httpx.Client, location: str) -> int:
    answer = client.head(location, headers=TUS)
    assert answer.status_code == 200, answer.status_code
    return int(answer.headers["Upload-Offset"])


def resume(client: httpx.Client, location: str, path: Path) -> None:
    """What a tus client does: ask the offset, send the rest; a 409 means ask again."""
    for _attempt in range(200):
        at = offset(client, location)
        if at == SIZE:
            return
        answer = patch(client, location, path, start=at, end=SIZE)
        if answer.status_code != 204:  # the dropped request is still being settled
            assert answer.status_code == 409, answer.text
            time.sleep(0.05)
    raise AssertionError("the upload never completed")


def names(client: httpx.Client, folder: Folder) -> set[str]:
    listed = client.get(f"/api/v1/folders/{folder.id}/files").json()["data"]
    return {entry["name"] for entry in listed}


def downloaded_sha256(client: httpx.Client, folder: Folder, name: str) -> str:
    digest = hashlib.sha256()
    url = f"/api/v1/folders/{folder.id}/download"
    with client.stream("GET", url, params={"path": name}) as answer:
        assert answer.status_code == 200
        for block in answer.iter_bytes(BLOCK):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture
def owner(factory: Factory) -> Account:
    return factory.user()


def test_whole_and_after_the_client_drops(
    settings: Settings, factory: Factory, owner: Account, big_file: tuple[Path, str], tmp_path: Path
) -> None:
    path, sha256 = big_file
    folder = factory.folder(owner.user)
    log = tmp_path / "manager.log"
    with (
        manager(settings, log) as (url, _process),
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        login(client, owner)
        whole = create(client, folder, "whole.bin")
        for start in range(0, SIZE, SIZE // 4):
            sent = patch(client, whole, path, start=start, end=min(start + SIZE // 4, SIZE))
            assert sent.status_code == 204, sent.text
        assert downloaded_sha256(client, folder, "whole.bin") == sha256

        dropped = create(client, folder, "dropped.bin")

        def drop_halfway(position: int) -> None:
            if position >= HALF:
                raise Dropped

        with pytest.raises(Dropped):
            patch(client, dropped, path, start=0, end=SIZE, on_byte=drop_halfway)
        assert 0 < offset(client, dropped) <= HALF
        assert "dropped.bin" not in names(client, folder)
        resume(client, dropped, path)
        assert "dropped.bin" in names(client, folder)
        assert downloaded_sha256(client, folder, "dropped.bin") == sha256
    assert "Traceback" not in log.read_text(errors="replace")


def test_resumed_after_the_manager_is_killed(
    settings: Settings, factory: Factory, owner: Account, big_file: tuple[Path, str], tmp_path: Path
) -> None:
    path, sha256 = big_file
    folder = factory.folder(owner.user)
    log = tmp_path / "manager.log"
    with manager(settings, log) as (url, process), httpx.Client(base_url=url, timeout=60) as client:
        login(client, owner)
        location = create(client, folder, "survivor.bin")

        def kill_halfway(position: int) -> None:
            if position >= HALF and process.poll() is None:
                process.kill()
                process.wait()

        with pytest.raises(httpx.TransportError):
            patch(client, location, path, start=0, end=SIZE, on_byte=kill_halfway)
    with (
        manager(settings, log) as (url, _process),
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        login(client, owner)
        assert 0 < offset(client, location) <= HALF
        assert "survivor.bin" not in names(client, folder)
        resume(client, location, path)
        assert downloaded_sha256(client, folder, "survivor.bin") == sha256
