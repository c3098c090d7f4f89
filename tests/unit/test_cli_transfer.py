"""The CLI's transfer logic against a tus + Range server faked in memory (httpx.MockTransport).

`FakeServer` keeps what a real one keeps (each upload's bytes so far, files with ETags)
and can lose the connection part-way through a body, once or every time.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.cli.folders.downloads import Downloader, destination
from shipyard.cli.folders.files import plan
from shipyard.cli.folders.resume_state import ResumeState, UploadKey
from shipyard.cli.folders.transfer import Backoff, TransferError, UploadGone, make_progress
from shipyard.cli.folders.uploads import Target, Uploader, metadata

ENDPOINT = "http://manager.test"


class FakeServer:
    def __init__(self) -> None:
        self.uploads: dict[str, bytearray] = {}
        self.lengths: dict[str, int] = {}
        self.names: dict[str, str] = {}
        self.files: dict[str, bytes] = {}
        self.etag = '"v1"'
        self.cut_after: int | None = None  # lose the connection after this many body bytes
        self.cut_always = False
        self.received = 0  # body bytes that reached the server
        self.deleted: list[str] = []
        self.refuse_publishing = ""  # the last PATCH fails with this and the upload ends

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path.endswith("/uploads"):
            return self._create(request)
        if path.endswith("/download"):
            return self._download(request)
        upload_id = path.rsplit("/", 1)[-1]
        if upload_id not in self.uploads:
            return httpx.Response(404)
        if request.method == "HEAD":
            return httpx.Response(200, headers=self._offset(upload_id))
        if request.method == "DELETE":
            self.deleted.append(upload_id)
            del self.uploads[upload_id]
            return httpx.Response(204)
        return self._patch(request, upload_id)

    def _create(self, request: httpx.Request) -> httpx.Response:
        upload_id = f"u{len(self.lengths) + 1}"
        self.uploads[upload_id] = bytearray()
        self.lengths[upload_id] = int(request.headers["Upload-Length"])
        pairs = dict(pair.split(" ") for pair in request.headers["Upload-Metadata"].split(","))
        self.names[upload_id] = base64.b64decode(pairs["filename"]).decode()
        return httpx.Response(201, headers={"Location": f"/api/v1/uploads/{upload_id}"})

    def _offset(self, upload_id: str) -> dict[str, str]:
        return {
            "Upload-Offset": str(len(self.uploads[upload_id])),
            "Upload-Length": str(self.lengths[upload_id]),
        }

    def _patch(self, request: httpx.Request, upload_id: str) -> httpx.Response:
        data = self.uploads[upload_id]
        if int(request.headers["Upload-Offset"]) != len(data):
            return httpx.Response(409, json={"error": {"code": "conflict", "message": "offset"}})
        assert isinstance(request.stream, httpx.SyncByteStream)
        for block in request.stream:
            if self.cut_after is not None and self.received + len(block) > self.cut_after:
                keep = self.cut_after - self.received
                data += block[:keep]
                self.received += keep
                self.cut_after = self.cut_after + 3 * 1024 if self.cut_always else None
                raise httpx.WriteError("connection reset by peer")
            data += block
            self.received += len(block)
        if self.refuse_publishing and len(data) == self.lengths[upload_id]:
            del self.uploads[upload_id]
            error = {"code": "conflict", "message": self.refuse_publishing}
            return httpx.Response(409, json={"error": error})
        return httpx.Response(204, headers=self._offset(upload_id))

    def _download(self, request: httpx.Request) -> httpx.Response:
        body = self.files[request.url.params["path"]]
        wanted = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range", ""))
        fresh = request.headers.get("If-Range", self.etag) == self.etag
        headers = {"ETag": self.etag}
        if wanted and fresh:
            start = int(wanted.group(1))
            if start >= len(body):
                return httpx.Response(416, headers={"Content-Range": f"bytes */{len(body)}"})
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
            return httpx.Response(206, headers=headers, content=self._body(body[start:]))
        return httpx.Response(200, headers=headers, content=self._body(body))

    def _body(self, body: bytes) -> Iterator[bytes]:
        """The body in small pieces; lose the connection once `cut_after` bytes went."""
        for start in range(0, len(body), 4096):
            piece = body[start : start + 4096]
            if self.cut_after is not None and self.received + len(piece) > self.cut_after:
                self.cut_after = None
                raise httpx.ReadError("connection reset by peer")
            self.received += len(piece)
            yield piece


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def client(server: FakeServer) -> httpx.Client:
    return httpx.Client(base_url=ENDPOINT, transport=httpx.MockTransport(server))


@pytest.fixture
def state(tmp_path: Path) -> ResumeState:
    return ResumeState(tmp_path / "state" / "shipyard" / "uploads.json")


@pytest.fixture
def waits() -> list[float]:
    return []


def uploader(client: httpx.Client, state: ResumeState, waits: list[float]) -> Uploader:
    backoff = Backoff(delays=(0.5, 1.0, 2.0), sleep=waits.append)
    progress = make_progress(enabled=False)
    return Uploader(client, state=state, progress=progress, backoff=backoff, chunk_size=10_000)


def a_file(tmp_path: Path, size: int = 25_000) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(size))
    return path


def test_a_file_goes_up_in_chunks_and_leaves_no_state(
    tmp_path: Path, client: httpx.Client, server: FakeServer, state: ResumeState
) -> None:
    local = a_file(tmp_path)
    sent = uploader(client, state, []).upload(local, Target(folder_id="f1", directory="in/"))
    assert (sent.path, sent.size, sent.resumed_from) == ("in/data.bin", 25_000, 0)
    assert bytes(server.uploads["u1"]) == local.read_bytes()
    assert server.names["u1"] == "data.bin"
    assert json.loads(state.path.read_text())["uploads"] == []
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o600


def test_a_lost_connection_is_retried_from_the_servers_offset(
    tmp_path: Path, client: httpx.Client, server: FakeServer, state: ResumeState, waits: list[float]
) -> None:
    local = a_file(tmp_path)
    server.cut_after = 14_000
    uploader(client, state, waits).upload(local, Target(folder_id="f1"))
    assert bytes(server.uploads["u1"]) == local.read_bytes()
    assert server.received == 25_000  # nothing sent twice
    assert waits == [0.5]


def test_a_connection_that_keeps_failing_gives_up_and_keeps_the_state(
    tmp_path: Path, client: httpx.Client, server: FakeServer, state: ResumeState, waits: list[float]
) -> None:
    local = a_file(tmp_path)
    server.cut_after, server.cut_always = 1_000, True
    with pytest.raises(
        TransferError,
        match=r"gave up after 4 attempts \(connection reset by peer\); run the same command",
    ):
        uploader(client, state, waits).upload(local, Target(folder_id="f1"))
    assert waits == [0.5, 1.0, 2.0]
    assert state.url_for(_key(client, local)) == f"{ENDPOINT}/api/v1/uploads/u1"


def test_an_upload_the_server_ends_says_why_and_is_forgotten(
    tmp_path: Path, client: httpx.Client, server: FakeServer, state: ResumeState, waits: list[float]
) -> None:
    local = a_file(tmp_path)
    server.refuse_publishing = "A file called data.bin already exists."
    with pytest.raises(UploadGone, match=r"A file called data\.bin already exists"):
        uploader(client, state, waits).upload(local, Target(folder_id="f1"))
    assert state.url_for(_key(client, local)) is None


def test_a_rerun_resumes_a_remembered_upload(
    tmp_path: Path, client: httpx.Client, server: FakeServer, state: ResumeState
) -> None:
    local = a_file(tmp_path)
    server.uploads["u7"] = bytearray(local.read_bytes()[:12_345])
    server.lengths["u7"] = 25_000
    state.remember(_key(client, local), f"{ENDPOINT}/api/v1/uploads/u7")
    sent = uploader(client, state, []).upload(local, Target(folder_id="f1"))
    assert sent.resumed_from == 12_345
    assert server.received == 25_000 - 12_345
    assert bytes(server.uploads["u7"]) == local.read_bytes()
    assert state.url_for(_key(client, local)) is None


def test_an_upload_the_server_forgot_starts_over(
    tmp_path: Path, client: httpx.Client, server: FakeServer, state: ResumeState
) -> None:
    local = a_file(tmp_path)
    state.remember(_key(client, local), f"{ENDPOINT}/api/v1/uploads/expired")
    sent = uploader(client, state, []).upload(local, Target(folder_id="f1"))
    assert sent.resumed_from == 0
    assert bytes(server.uploads["u1"]) == local.read_bytes()


def test_an_upload_of_an_older_version_is_ended(
    tmp_path: Path, client: httpx.Client, server: FakeServer, state: ResumeState
) -> None:
    local = a_file(tmp_path)
    server.uploads["old"], server.lengths["old"] = bytearray(b"x"), 3
    old_key = _key(client, local)
    state.remember(UploadKey(**{**old_key.__dict__, "size": 3}), f"{ENDPOINT}/api/v1/uploads/old")
    uploader(client, state, []).upload(local, Target(folder_id="f1"))
    assert server.deleted == ["old"]
    assert json.loads(state.path.read_text())["uploads"] == []


def test_an_upload_address_on_another_host_is_refused(tmp_path: Path, state: ResumeState) -> None:
    def elsewhere(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, headers={"Location": "http://evil.test/u1"})

    client = httpx.Client(base_url=ENDPOINT, transport=httpx.MockTransport(elsewhere))
    with pytest.raises(TransferError, match="unusable upload address"):
        uploader(client, state, []).upload(a_file(tmp_path), Target(folder_id="f1"))


def test_metadata_is_tus_encoded() -> None:
    header = metadata("ä b.txt", Target(folder_id="f", directory="/x/y/", replace=True))
    pairs = dict(pair.split(" ") for pair in header.split(","))
    decoded = {key: base64.b64decode(value).decode() for key, value in pairs.items()}
    assert decoded == {"filename": "ä b.txt", "path": "x/y", "replace": "1"}


def test_the_state_file_survives_garbage(
    state: ResumeState, client: httpx.Client, tmp_path: Path
) -> None:
    state.path.parent.mkdir(parents=True)
    state.path.write_text("{not json")
    key = _key(client, a_file(tmp_path))
    assert state.url_for(key) is None
    state.remember(key, "u")
    assert state.url_for(key) == "u"


def _key(client: httpx.Client, local: Path) -> UploadKey:
    info = local.stat()
    return UploadKey(
        endpoint=str(client.base_url),
        folder_id="f1",
        remote_path=local.name,
        local_path=str(local.resolve()),
        size=info.st_size,
        mtime_ns=info.st_mtime_ns,
    )


def downloader(client: httpx.Client) -> Downloader:
    return Downloader(
        client, progress=make_progress(enabled=False), backoff=Backoff(sleep=lambda _s: None)
    )


def test_a_download_resumes_its_part_file(
    tmp_path: Path, client: httpx.Client, server: FakeServer
) -> None:
    server.files["a.bin"] = os.urandom(30_000)
    local = tmp_path / "a.bin"
    (tmp_path / "a.bin.part").write_bytes(server.files["a.bin"][:10_000])
    (tmp_path / "a.bin.part.etag").write_text('"v1"\n')
    got = downloader(client).download("f1", "a.bin", local)
    assert got.resumed_from == 10_000
    assert local.read_bytes() == server.files["a.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_a_download_that_loses_its_connection_continues_where_it_stopped(
    tmp_path: Path, client: httpx.Client, server: FakeServer
) -> None:
    server.files["a.bin"] = os.urandom(30_000)
    server.cut_after = 12_000
    got = downloader(client).download("f1", "a.bin", tmp_path / "a.bin")
    assert (tmp_path / "a.bin").read_bytes() == server.files["a.bin"]
    assert got.resumed_from == 0
    assert server.received == 30_000  # nothing sent twice


def test_a_changed_file_is_downloaded_again_from_the_start(
    tmp_path: Path, client: httpx.Client, server: FakeServer
) -> None:
    server.files["a.bin"], server.etag = os.urandom(30_000), '"v2"'
    (tmp_path / "a.bin.part").write_bytes(os.urandom(10_000))
    (tmp_path / "a.bin.part.etag").write_text('"v1"\n')
    got = downloader(client).download("f1", "a.bin", tmp_path / "a.bin")
    assert got.resumed_from == 0
    assert (tmp_path / "a.bin").read_bytes() == server.files["a.bin"]


def test_a_complete_part_file_is_just_renamed(
    tmp_path: Path, client: httpx.Client, server: FakeServer
) -> None:
    server.files["a.bin"] = os.urandom(5_000)
    (tmp_path / "a.bin.part").write_bytes(server.files["a.bin"])
    (tmp_path / "a.bin.part.etag").write_text('"v1"\n')
    got = downloader(client).download("f1", "a.bin", tmp_path / "a.bin")
    assert (got.size, got.resumed_from) == (5_000, 5_000)
    assert (tmp_path / "a.bin").read_bytes() == server.files["a.bin"]


def test_an_existing_file_is_kept_unless_forced(
    tmp_path: Path, client: httpx.Client, server: FakeServer
) -> None:
    server.files["a.bin"] = b"new"
    (tmp_path / "a.bin").write_bytes(b"old")
    with pytest.raises(TransferError, match="exists: add --force"):
        downloader(client).download("f1", "a.bin", tmp_path / "a.bin")
    downloader(client).download("f1", "a.bin", tmp_path / "a.bin", force=True)
    assert (tmp_path / "a.bin").read_bytes() == b"new"


def test_where_a_download_lands(tmp_path: Path) -> None:
    assert destination("dir/a.bin", None) == Path("a.bin")
    assert destination("dir/a.bin", tmp_path) == tmp_path / "a.bin"
    assert destination("a.bin", tmp_path / "b.bin") == tmp_path / "b.bin"
    with pytest.raises(TransferError, match="give the path of a file"):
        destination("", None)


def test_directories_go_up_only_with_recursive(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "b").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "b" / "c.txt").write_text("c")
    (tree / "link").symlink_to(tmp_path)  # a link to a directory is not followed
    with pytest.raises(TransferError, match="is a directory: add -r"):
        plan([tree], to="", recursive=False)
    directories, files = plan([tree], to="/up/", recursive=True)
    assert directories == ["up/tree", "up/tree/b"]
    assert [(p.relative_to(tree).as_posix(), d) for p, d in files] == [
        ("a.txt", "up/tree"),
        ("b/c.txt", "up/tree/b"),
    ]
