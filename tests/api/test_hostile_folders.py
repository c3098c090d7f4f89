"""What a session can plant or swap inside a folder: FIFOs, unix sockets, links, deep trees.

Sessions mount folders read-write and may put anything at any name at any moment. The
manager answers each request with what was asked or a clear 4xx in the API's one error
shape: never a hang, never a 500, never a database connection held while it touches the
folder, and `/healthz` keeps answering. Requests go to a live server with a client timeout,
so a hang fails the test instead of stopping the run.
"""

from __future__ import annotations

import base64
import os
import socket
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shipyard.config import Settings
from shipyard.db import Database, utcnow
from shipyard.storage import downloads, hosts, paths, staging, trees, uploads
from shipyard.storage.models import Folder, Upload
from tests.api.test_sessions_api import bearer
from tests.factories import Account, Factory

TIMEOUT = 5.0
TUS = {"Tus-Resumable": "1.0.0"}
STREAM = "application/offset+octet-stream"


@dataclass
class Planter:
    """Plants what a session could inside one folder's directory, straight on disk."""

    top: Path
    fifos: list[Path] = field(default_factory=list)
    sockets: list[socket.socket] = field(default_factory=list)

    def fifo(self, name: str) -> Path:
        path = self.top / name
        os.mkfifo(path)
        self.fifos.append(path)
        return path

    def socket(self, name: str) -> Path:
        """A listening unix socket (bound through /proc: tmp paths exceed sun_path)."""
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        directory = os.open((self.top / name).parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            server.bind(f"/proc/self/fd/{directory}/{Path(name).name}")
        finally:
            os.close(directory)
        server.listen()
        self.sockets.append(server)
        return self.top / name

    def link(self, name: str, target: Path | str) -> Path:
        path = self.top / name
        path.symlink_to(target)
        return path

    def release(self) -> None:
        """Open every FIFO read-write once: anything stuck opening one (a bug) is let go."""
        for path in self.fifos:
            try:
                os.close(os.open(path, os.O_RDWR | os.O_NONBLOCK))
            except OSError:
                continue
        for server in self.sockets:
            server.close()


@pytest.fixture
def owner(factory: Factory) -> Account:
    return factory.user()


@pytest.fixture
def folder(factory: Factory, owner: Account) -> Folder:
    return factory.folder(owner.user)


@pytest.fixture
def session(settings: Settings, folder: Folder) -> Iterator[Planter]:
    planter = Planter(hosts.directory(settings, folder))
    yield planter
    planter.release()


@pytest.fixture
def api(client: TestClient, owner: Account, live_server: str) -> Iterator[httpx.Client]:
    """The owner's API client on a live server; every request times out after TIMEOUT."""
    with httpx.Client(
        base_url=f"{live_server}/api/v1", headers=bearer(client, owner), timeout=TIMEOUT
    ) as http:
        yield http


def healthy(api: httpx.Client) -> bool:
    return api.get(str(api.base_url.copy_with(path="/healthz"))).status_code == 200


def refused(reply: httpx.Response, status: int, phrase: str) -> None:
    """A 4xx in the API's error shape whose message says `phrase`."""
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert phrase in error["message"]


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def start(api: httpx.Client, folder: Folder, *, length: int, **meta: str) -> httpx.Response:
    return api.post(
        f"/folders/{folder.id}/uploads",
        headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata(**meta)},
    )


def send(api: httpx.Client, location: str, data: bytes, *, at: int) -> httpx.Response:
    return api.patch(
        location.removeprefix("/api/v1"),
        content=data,
        headers={**TUS, "Upload-Offset": str(at), "Content-Type": STREAM},
    )


def head(api: httpx.Client, location: str) -> httpx.Response:
    return api.head(location.removeprefix("/api/v1"), headers=TUS)


def download(api: httpx.Client, folder: Folder, path: str) -> httpx.Response:
    return api.get(f"/folders/{folder.id}/download", params={"path": path})


def staged(settings: Settings, folder: Folder) -> list[str]:
    where = hosts.staging(settings, folder)
    return sorted(p.name for p in where.iterdir()) if where.is_dir() else []


# --- staging --------------------------------------------------------------------------------


def test_an_upload_in_progress_is_staged_where_no_session_sees_it(
    api: httpx.Client, settings: Settings, folder: Folder, session: Planter
) -> None:
    location = start(api, folder, length=10, filename="data.bin").headers["Location"]
    assert send(api, location, b"12345", at=0).status_code == 204
    assert os.listdir(session.top) == []  # nothing a session could swap
    where = hosts.staging(settings, folder)
    assert session.top not in where.parents
    assert where not in session.top.parents
    assert stat.S_IMODE(where.stat().st_mode) == 0o700
    (name,) = staged(settings, folder)
    assert (where / name).stat().st_size == 5 == int(head(api, location).headers["Upload-Offset"])
    assert send(api, location, b"67890", at=5).status_code == 204
    assert (session.top / "data.bin").read_bytes() == b"1234567890"
    assert staged(settings, folder) == []
    assert os.listdir(session.top) == ["data.bin"]


@pytest.mark.parametrize("swapped", ["file", "fifo"])
def test_an_upload_begun_by_an_older_version_ends_cleanly(
    api: httpx.Client,
    database: Database,
    owner: Account,
    folder: Folder,
    session: Planter,
    swapped: str,
) -> None:
    """Its temp file lies in the folder, where a session may have made it a FIFO: the upload
    ends (404, clients start afresh), nothing is written to it and nothing is published."""
    temp = f"{paths.TEMP_PREFIX}{uuid.uuid4().hex}"
    if swapped == "fifo":
        session.fifo(temp)
    else:
        (session.top / temp).write_bytes(b"12345")
    upload_id = uuid.uuid4()
    with database.session() as db:
        db.add(
            Upload(
                id=upload_id,
                folder_id=folder.id,
                user_id=owner.user.id,
                path="old.bin",
                length=10,
                temp_name=temp,
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        db.commit()
    location = f"/api/v1/uploads/{upload_id}"
    refused(send(api, location, b"67890", at=5), 404, "No such upload")
    assert head(api, location).status_code == 404
    assert os.listdir(session.top) == []
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(Upload)) == 0
    assert healthy(api)


# --- what is not a regular file ------------------------------------------------------------


PLANTS: dict[str, tuple[Callable[[Planter], object], int, str]] = {
    "fifo": (lambda s: s.fifo("thing"), 422, "is not a regular file"),
    "socket": (lambda s: s.socket("thing"), 422, "is not a regular file"),
    "link to a file": (lambda s: s.link("thing", "/etc/hostname"), 403, "Symbolic links"),
    "link to a fifo": (lambda s: (s.fifo("pipe"), s.link("thing", "pipe")), 403, "Symbolic"),
    "folder": (lambda s: (s.top / "thing").mkdir(), 422, "is a folder"),
}


@pytest.mark.parametrize("kind", PLANTS)
def test_downloading_what_is_not_a_regular_file_is_refused(
    api: httpx.Client, folder: Folder, session: Planter, kind: str
) -> None:
    plant, status, phrase = PLANTS[kind]
    plant(session)
    refused(download(api, folder, "thing"), status, phrase)
    head_reply = api.head(f"/folders/{folder.id}/download", params={"path": "thing"})
    assert head_reply.status_code == status
    assert healthy(api)


def test_listing_shows_planted_entries_without_opening_them(
    api: httpx.Client, folder: Folder, session: Planter
) -> None:
    session.fifo("pipe")
    session.socket("sock")
    session.link("link", "/")
    (session.top / "dir").mkdir()
    (session.top / "file").write_bytes(b"abc")
    reply = api.get(f"/folders/{folder.id}/files")
    assert reply.status_code == 200
    kinds = {entry["name"]: entry["type"] for entry in reply.json()["data"]}
    assert kinds == {"dir": "dir", "file": "file", "link": "link", "pipe": "other", "sock": "other"}
    assert healthy(api)


def test_moving_and_deleting_planted_entries_never_opens_them(
    api: httpx.Client, folder: Folder, session: Planter, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kept.txt").write_text("kept")
    session.fifo("pipe")
    session.socket("sock")
    tree = session.top / "tree" / "deeper"
    tree.mkdir(parents=True)
    session.fifo("tree/deeper/pipe")
    session.socket("tree/sock")
    session.link("tree/out", outside)
    moved = api.post(f"/folders/{folder.id}/move", json={"source": "pipe", "target": "moved"})
    assert moved.status_code == 204
    assert stat.S_ISFIFO((session.top / "moved").lstat().st_mode)
    refused(api.post(f"/folders/{folder.id}/mkdir", json={"path": "sock"}), 409, "already")
    for name in ("moved", "sock", "tree"):
        reply = api.delete(f"/folders/{folder.id}/files", params={"path": name})
        assert reply.status_code == 204, reply.text
    assert os.listdir(session.top) == []
    assert (outside / "kept.txt").read_text() == "kept"
    assert healthy(api)


def test_folder_size_counts_regular_files_only(
    api: httpx.Client, folder: Folder, session: Planter
) -> None:
    (session.top / "sub").mkdir()
    (session.top / "sub" / "data").write_bytes(b"x" * 100)
    session.fifo("pipe")
    session.socket("sub/sock")
    session.link("root", "/")
    reply = api.get(f"/folders/{folder.id}")
    assert reply.status_code == 200
    assert reply.json()["used_bytes"] == 100


def test_a_tree_deeper_than_any_recursion_limit_is_measured_and_deleted(
    api: httpx.Client, folder: Folder, session: Planter
) -> None:
    fd = os.open(session.top, os.O_RDONLY | os.O_DIRECTORY)
    for _level in range(1500):
        os.mkdir("d", dir_fd=fd)
        below = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = below
    os.mkfifo("pipe", dir_fd=fd)
    os.close(fd)
    assert api.get(f"/folders/{folder.id}").status_code == 200
    reply = api.delete(f"/folders/{folder.id}/files", params={"path": "d"})
    assert reply.status_code == 204, reply.text
    assert os.listdir(session.top) == []


# --- publishing onto a name a session took -------------------------------------------------


def test_an_upload_onto_a_name_a_session_holds_is_refused_up_front(
    api: httpx.Client, folder: Folder, session: Planter
) -> None:
    session.fifo("taken.bin")
    refused(start(api, folder, length=3, filename="taken.bin"), 409, "already exists")


TAKERS: dict[str, Callable[[Planter, Path], object]] = {
    "fifo": lambda s, _o: s.fifo("race.bin"),
    "socket": lambda s, _o: s.socket("race.bin"),
    "folder": lambda s, _o: (s.top / "race.bin").mkdir(),
    "link": lambda s, outside: s.link("race.bin", outside / "victim"),
    "dangling link": lambda s, outside: s.link("race.bin", outside / "nothing"),
}


@pytest.mark.parametrize("taker", TAKERS)
def test_a_name_taken_while_uploading_is_neither_followed_nor_opened(
    api: httpx.Client,
    settings: Settings,
    folder: Folder,
    session: Planter,
    tmp_path: Path,
    taker: str,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("precious")
    location = start(api, folder, length=3, filename="race.bin").headers["Location"]
    TAKERS[taker](session, outside)
    before = (session.top / "race.bin").lstat()
    refused(send(api, location, b"abc", at=0), 409, "already exists")
    after = (session.top / "race.bin").lstat()
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert (outside / "victim").read_text() == "precious"
    assert staged(settings, folder) == []
    assert head(api, location).status_code == 404
    assert healthy(api)


@pytest.mark.parametrize("taker", ["fifo", "socket", "link"])
def test_replacing_puts_the_file_in_place_of_what_a_session_planted(
    api: httpx.Client, folder: Folder, session: Planter, tmp_path: Path, taker: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("precious")
    location = start(api, folder, length=3, filename="race.bin", replace="1").headers["Location"]
    TAKERS[taker](session, outside)
    assert send(api, location, b"abc", at=0).status_code == 204
    assert stat.S_ISREG((session.top / "race.bin").lstat().st_mode)
    assert (session.top / "race.bin").read_bytes() == b"abc"
    assert (outside / "victim").read_text() == "precious"


def test_a_folder_in_the_way_of_a_replacing_upload_is_a_conflict(
    api: httpx.Client, settings: Settings, folder: Folder, session: Planter
) -> None:
    location = start(api, folder, length=3, filename="race.bin", replace="1").headers["Location"]
    (session.top / "race.bin").mkdir()
    refused(send(api, location, b"abc", at=0), 409, "A folder called race.bin is already there")
    assert (session.top / "race.bin").is_dir()
    assert staged(settings, folder) == []


# --- no database connection while a folder is touched --------------------------------------


WATCHED_CALLS = frozenset(
    {"open", "scandir", "stat", "link", "rename", "unlink", "mkdir", "rmdir", "fsync"}
    | {"pread", "pwrite", "ftruncate"}
)


class WatchedOs:
    """`os` for the storage modules, noting how many database connections are checked out
    at each call that touches the disk."""

    def __init__(self, database: Database, seen: list[tuple[str, int]]) -> None:
        self._pool = database.engine.pool
        self._seen = seen

    def __getattr__(self, name: str) -> Any:
        real = getattr(os, name)
        if name not in WATCHED_CALLS:
            return real

        def watched(*args: Any, **kwargs: Any) -> Any:
            self._seen.append((name, self._pool.checkedout()))  # type: ignore[attr-defined]
            return real(*args, **kwargs)

        return watched


@pytest.mark.db
def test_no_database_connection_is_held_while_a_folder_is_touched(
    client: TestClient,
    owner: Account,
    folder: Folder,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = bearer(client, owner)
    base = f"/api/v1/folders/{folder.id}"
    seen: list[tuple[str, int]] = []
    module: ModuleType
    for module in (paths, trees, staging, uploads, downloads):
        monkeypatch.setattr(module, "os", WatchedOs(database, seen))

    def ok(reply: httpx.Response) -> httpx.Response:
        assert reply.status_code < 300, reply.text
        return reply

    created = ok(
        client.post(
            f"{base}/uploads",
            headers={
                **headers,
                **TUS,
                "Upload-Length": "6",
                "Upload-Metadata": metadata(filename="a.bin"),
            },
        )
    )
    location = created.headers["Location"]
    ok(client.head(location, headers={**headers, **TUS}))
    for at, part in ((0, b"abc"), (3, b"def")):
        ok(
            client.patch(
                location,
                content=part,
                headers={**headers, **TUS, "Upload-Offset": str(at), "Content-Type": STREAM},
            )
        )
    ok(client.delete(location, headers={**headers, **TUS}))
    ok(client.post(f"{base}/mkdir", json={"path": "sub"}, headers=headers))
    ok(
        client.post(
            f"{base}/move", json={"source": "a.bin", "target": "sub/b.bin"}, headers=headers
        )
    )
    ok(client.get(f"{base}/files", params={"path": "sub"}, headers=headers))
    assert ok(client.get(f"{base}/download", params={"path": "sub/b.bin"}, headers=headers)).content
    ok(client.get(base, headers=headers))
    ok(client.delete(f"{base}/files", params={"path": "sub"}, headers=headers))
    assert {name for name, _held in seen} >= {"open", "scandir", "link", "rename", "pwrite"}
    assert [(name, held) for name, held in seen if held] == []
