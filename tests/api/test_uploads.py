"""Resumable uploads (tus 1.0.0) through the API: protocol, limits, permissions, hostile input."""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shipyard.config import Settings
from shipyard.db import Database, utcnow
from shipyard.policies import service as policies
from shipyard.policies.models import PolicyKind
from shipyard.storage import hosts, uploads
from shipyard.storage.models import Folder, Perm, Upload
from shipyard.storage.monitor import StorageMonitor
from shipyard.storage.paths import TEMP_PREFIX
from shipyard.users.models import User
from tests.api.test_sessions_api import bearer
from tests.factories import Account, Factory
from tests.webclient import session_csrf

TUS = {"Tus-Resumable": "1.0.0"}
STREAM = "application/offset+octet-stream"


def metadata(**values: str) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items()
    )


def start(
    client: TestClient, headers: dict[str, str], folder: Folder, *, length: int, **meta: str
) -> httpx.Response:
    meta.setdefault("filename", "data.bin")
    return client.post(
        f"/api/v1/folders/{folder.id}/uploads",
        headers={
            **headers,
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": metadata(**meta),
        },
    )


def send(
    client: TestClient, headers: dict[str, str], location: str, data: bytes, *, at: int
) -> httpx.Response:
    return client.patch(
        location,
        content=data,
        headers={**headers, **TUS, "Upload-Offset": str(at), "Content-Type": STREAM},
    )


def offset_of(client: TestClient, headers: dict[str, str], location: str) -> int:
    answer = client.head(location, headers={**headers, **TUS})
    assert answer.status_code == 200, answer.status_code
    return int(answer.headers["Upload-Offset"])


def upload(
    client: TestClient, headers: dict[str, str], folder: Folder, data: bytes, **meta: str
) -> httpx.Response:
    created = start(client, headers, folder, length=len(data), **meta)
    assert created.status_code == 201, created.text
    if not data:
        return created
    return send(client, headers, created.headers["Location"], data, at=0)


def listing(
    client: TestClient, headers: dict[str, str], folder: Folder, path: str = ""
) -> dict[str, int]:
    answer = client.get(
        f"/api/v1/folders/{folder.id}/files", params={"path": path}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return {entry["name"]: entry["size"] for entry in answer.json()["data"]}


def download(
    client: TestClient, headers: dict[str, str], folder: Folder, path: str
) -> httpx.Response:
    return client.get(
        f"/api/v1/folders/{folder.id}/download", params={"path": path}, headers=headers
    )


def temp_files(settings: Settings, folder: Folder) -> list[str]:
    """Uploads in progress: files in the host's staging directory (none is ever in a folder)."""
    top = hosts.directory(settings, folder)
    assert not [name for _d, _ds, names in os.walk(top) for name in names if "upload" in name]
    staged = hosts.staging(settings, folder)
    return sorted(path.name for path in staged.iterdir()) if staged.is_dir() else []


def used_bytes(client: TestClient, headers: dict[str, str], folder: Folder) -> int:
    used: int = client.get(f"/api/v1/folders/{folder.id}", headers=headers).json()["used_bytes"]
    return used


def limit_folders(factory: Factory, user: User, max_size: int) -> None:
    """Give the user a policy whose folders may hold at most `max_size` bytes."""
    with factory.database.session() as db:
        policy = policies.create_policy(db, name=f"storage-{user.id.hex[:8]}", kind=PolicyKind.USER)
        policy.max_folder_size = max_size
        db.merge(user).resource_policy_id = policy.id
        db.commit()


@pytest.fixture
def owner(factory: Factory) -> Account:
    return factory.user()


@pytest.fixture
def headers(client: TestClient, owner: Account) -> dict[str, str]:
    return bearer(client, owner)


@pytest.fixture
def folder(factory: Factory, owner: Account) -> Folder:
    return factory.folder(owner.user)


def test_options_describe_the_server(client: TestClient, folder: Folder) -> None:
    answer = client.options(f"/api/v1/folders/{folder.id}/uploads")
    assert answer.status_code == 204
    assert answer.headers["Tus-Resumable"] == "1.0.0"
    assert answer.headers["Tus-Version"] == "1.0.0"
    assert answer.headers["Tus-Extension"] == "creation,termination,expiration"


@pytest.mark.smoke
def test_an_upload_in_chunks_becomes_the_file(
    client: TestClient, headers: dict[str, str], folder: Folder
) -> None:
    data = os.urandom(700_000)
    created = start(client, headers, folder, length=len(data), filename="chunks.bin")
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    assert location.startswith("/api/v1/uploads/")
    assert created.headers["Tus-Resumable"] == "1.0.0"
    assert created.headers["Upload-Expires"].endswith(" GMT")
    head = client.head(location, headers={**headers, **TUS})
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Cache-Control"] == "no-store"
    for at in (0, 250_000, 500_000):
        sent = send(client, headers, location, data[at : at + 250_000], at=at)
        assert sent.status_code == 204, sent.text
        assert sent.headers["Upload-Offset"] == str(min(at + 250_000, len(data)))
        assert sent.headers["Tus-Resumable"] == "1.0.0"
    assert listing(client, headers, folder) == {"chunks.bin": len(data)}
    assert download(client, headers, folder, "chunks.bin").content == data
    assert offset_of(client, headers, location) == len(data)  # finished, still answerable
    assert temp_files(client.app.state.settings, folder) == []


def test_an_upload_into_a_subdirectory(
    client: TestClient, headers: dict[str, str], folder: Folder
) -> None:
    client.post(f"/api/v1/folders/{folder.id}/mkdir", json={"path": "inbox"}, headers=headers)
    assert (
        upload(client, headers, folder, b"hello", filename="a.txt", path="inbox").status_code == 204
    )
    assert listing(client, headers, folder, "inbox") == {"a.txt": 5}
    missing = start(client, headers, folder, length=5, filename="a.txt", path="nowhere")
    assert missing.status_code == 404


def test_an_empty_upload_is_published_at_creation(
    client: TestClient, headers: dict[str, str], folder: Folder
) -> None:
    created = start(client, headers, folder, length=0, filename="empty.txt")
    assert created.status_code == 201
    assert listing(client, headers, folder) == {"empty.txt": 0}
    head = client.head(created.headers["Location"], headers={**headers, **TUS})
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == ("0", "0")


def test_a_wrong_offset_is_a_conflict_that_says_where_the_upload_is(
    client: TestClient, headers: dict[str, str], folder: Folder
) -> None:
    location = start(client, headers, folder, length=10).headers["Location"]
    send(client, headers, location, b"12345", at=0)
    for at in (0, 3, 7):
        refused = send(client, headers, location, b"abc", at=at)
        assert refused.status_code == 409
        assert refused.json()["error"]["details"] == {"offset": 5}
        assert refused.headers["Tus-Resumable"] == "1.0.0"
    assert offset_of(client, headers, location) == 5


def test_bytes_beyond_the_length_are_refused_and_not_kept(
    client: TestClient, headers: dict[str, str], folder: Folder
) -> None:
    location = start(client, headers, folder, length=10).headers["Location"]
    send(client, headers, location, b"1234", at=0)
    too_many = send(client, headers, location, b"x" * 20, at=4)
    assert too_many.status_code == 409
    assert "beyond" in too_many.json()["error"]["message"]

    def streamed() -> object:
        yield b"abc"
        yield b"x" * 20  # no Content-Length: found out while streaming

    chunked = client.patch(
        location,
        content=streamed(),  # type: ignore[arg-type]
        headers={**headers, **TUS, "Upload-Offset": "4", "Content-Type": STREAM},
    )
    assert chunked.status_code == 409
    assert offset_of(client, headers, location) == 4
    assert listing(client, headers, folder) == {}


def test_the_wrong_content_type_is_415(
    client: TestClient, headers: dict[str, str], folder: Folder
) -> None:
    location = start(client, headers, folder, length=3).headers["Location"]
    refused = client.patch(
        location,
        content=b"abc",
        headers={**headers, **TUS, "Upload-Offset": "0", "Content-Type": "application/json"},
    )
    assert refused.status_code == 415
    assert refused.json()["error"]["code"] == "unsupported_media_type"
    assert offset_of(client, headers, location) == 0


def test_tus_requests_without_the_version_are_412(
    client: TestClient, headers: dict[str, str], folder: Folder
) -> None:
    location = start(client, headers, folder, length=3).headers["Location"]
    answers = [
        client.post(
            f"/api/v1/folders/{folder.id}/uploads",
            headers={**headers, "Upload-Length": "3", "Upload-Metadata": metadata(filename="x")},
        ),
        client.head(location, headers=headers),
        client.patch(
            location,
            content=b"abc",
            headers={**headers, "Upload-Offset": "0", "Content-Type": STREAM},
        ),
        client.delete(location, headers={**headers, "Tus-Resumable": "0.2.2"}),
    ]
    for answer in answers:
        assert answer.status_code == 412
        assert answer.headers["Tus-Version"] == "1.0.0"
    assert offset_of(client, headers, location) == 0


def test_termination_removes_the_upload(
    client: TestClient, headers: dict[str, str], folder: Folder, settings: Settings
) -> None:
    location = start(client, headers, folder, length=10).headers["Location"]
    send(client, headers, location, b"12345", at=0)
    assert temp_files(settings, folder)
    ended = client.delete(location, headers={**headers, **TUS})
    assert ended.status_code == 204
    assert ended.headers["Tus-Resumable"] == "1.0.0"
    assert temp_files(settings, folder) == []
    assert client.head(location, headers={**headers, **TUS}).status_code == 404
    assert send(client, headers, location, b"678", at=5).status_code == 404


def test_someone_elses_upload_does_not_exist(
    client: TestClient, headers: dict[str, str], folder: Folder, factory: Factory
) -> None:
    location = start(client, headers, folder, length=10).headers["Location"]
    other = bearer(client, factory.user())
    assert client.head(location, headers={**other, **TUS}).status_code == 404
    assert send(client, other, location, b"abc", at=0).status_code == 404
    assert client.delete(location, headers={**other, **TUS}).status_code == 404
    assert client.head("/api/v1/uploads/not-an-id", headers={**headers, **TUS}).status_code == 404
    assert offset_of(client, headers, location) == 0


def test_shares_and_strangers(
    client: TestClient, owner: Account, folder: Folder, factory: Factory
) -> None:
    reader, writer, stranger = factory.user(), factory.user(), factory.user()
    factory.share(folder, owner.user, reader, Perm.RO)
    factory.share(folder, owner.user, writer, Perm.RW)
    refused = start(client, bearer(client, reader), folder, length=3)
    assert refused.status_code == 403
    assert "write access" in refused.json()["error"]["message"]
    assert start(client, bearer(client, stranger), folder, length=3).status_code == 404
    written = upload(client, bearer(client, writer), folder, b"abc", filename="shared.txt")
    assert written.status_code == 204
    assert listing(client, bearer(client, owner), folder) == {"shared.txt": 3}


def test_the_console_session_uploads_with_its_csrf_token(
    client: TestClient, factory: Factory, owner: Account, folder: Folder
) -> None:
    factory.web_login(client, owner)
    assert start(client, {}, folder, length=2).status_code == 403  # no CSRF token
    csrf = {"X-CSRF-Token": session_csrf(client)}
    assert upload(client, csrf, folder, b"hi", filename="web.txt").status_code == 204
    assert listing(client, {}, folder) == {"web.txt": 2}


def test_an_upload_over_the_folder_limit_is_refused_before_anything_is_written(
    client: TestClient,
    headers: dict[str, str],
    owner: Account,
    folder: Folder,
    factory: Factory,
    settings: Settings,
) -> None:
    limit_folders(factory, owner.user, 1000)
    assert upload(client, headers, folder, b"x" * 600, filename="first.bin").status_code == 204
    before = used_bytes(client, headers, folder)
    refused = start(client, headers, folder, length=500, filename="second.bin")
    assert refused.status_code == 413
    assert refused.headers["Tus-Resumable"] == "1.0.0"
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["message"] == (
        "This needs 500 B, which would take the folder over its size limit of 1000 B: "
        "600 B is used, so 400 B is left."
    )
    assert temp_files(settings, folder) == []
    assert used_bytes(client, headers, folder) == before == 600
    assert start(client, headers, folder, length=400, filename="fits.bin").status_code == 201


@pytest.mark.db
def test_two_uploads_in_progress_cannot_jointly_pass_the_limit(
    client: TestClient, headers: dict[str, str], owner: Account, folder: Folder, factory: Factory
) -> None:
    limit_folders(factory, owner.user, 1000)
    first = start(client, headers, folder, length=600, filename="a.bin")
    assert first.status_code == 201
    assert start(client, headers, folder, length=600, filename="b.bin").status_code == 413
    assert send(client, headers, first.headers["Location"], b"a" * 600, at=0).status_code == 204
    # finished, the first counts as a file (600) and no longer as a reservation
    assert start(client, headers, folder, length=400, filename="c.bin").status_code == 201
    assert start(client, headers, folder, length=1, filename="d.bin").status_code == 413


def test_a_partial_upload_is_never_listed_or_downloadable(
    client: TestClient, headers: dict[str, str], folder: Folder, settings: Settings
) -> None:
    location = start(client, headers, folder, length=10, filename="part.txt").headers["Location"]
    send(client, headers, location, b"12345", at=0)
    assert listing(client, headers, folder) == {}
    assert download(client, headers, folder, "part.txt").status_code == 404
    (temp,) = temp_files(settings, folder)
    assert download(client, headers, folder, temp).status_code == 404
    assert used_bytes(client, headers, folder) == 0


def test_replace_semantics(client: TestClient, headers: dict[str, str], folder: Folder) -> None:
    assert upload(client, headers, folder, b"old", filename="f.txt").status_code == 204
    taken = start(client, headers, folder, length=3, filename="f.txt")
    assert taken.status_code == 409
    assert "replace" in taken.json()["error"]["message"]
    assert (
        upload(client, headers, folder, b"newer", filename="f.txt", replace="1").status_code == 204
    )
    assert download(client, headers, folder, "f.txt").content == b"newer"
    client.post(f"/api/v1/folders/{folder.id}/mkdir", json={"path": "dir"}, headers=headers)
    assert start(client, headers, folder, length=1, filename="dir", replace="1").status_code == 409


def test_a_name_taken_while_uploading_ends_the_upload(
    client: TestClient, headers: dict[str, str], folder: Folder, settings: Settings
) -> None:
    location = start(client, headers, folder, length=3, filename="race.txt").headers["Location"]
    (hosts.directory(settings, folder) / "race.txt").write_bytes(b"session wrote this")
    finished = send(client, headers, location, b"abc", at=0)
    assert finished.status_code == 409
    assert download(client, headers, folder, "race.txt").content == b"session wrote this"
    assert temp_files(settings, folder) == []
    assert client.head(location, headers={**headers, **TUS}).status_code == 404


@pytest.mark.parametrize(
    "name", ["..", "/etc/passwd", "a/b", "bad\x00name", "%2e%2e", "x" * 300, ".", TEMP_PREFIX + "x"]
)
def test_hostile_file_names_are_refused(
    client: TestClient, headers: dict[str, str], folder: Folder, settings: Settings, name: str
) -> None:
    refused = start(client, headers, folder, length=3, filename=name)
    assert refused.status_code == 422, refused.text
    assert temp_files(settings, folder) == []
    assert list(hosts.directory(settings, folder).iterdir()) == []


@pytest.mark.parametrize(
    "path", ["..", "../..", "a/../..", "bad\x00", "%2e%2e", "%2e%2e%2fetc", "x" * 5000]
)
def test_hostile_directories_are_refused(
    client: TestClient, headers: dict[str, str], folder: Folder, settings: Settings, path: str
) -> None:
    storage = hosts.directory(settings, folder).parent
    before = sorted(storage.rglob("*"))
    refused = start(client, headers, folder, length=3, filename="ok.txt", path=path)
    assert refused.status_code == 422, refused.text
    assert sorted(storage.rglob("*")) == before


@pytest.mark.parametrize(
    "header",
    [
        "filename",
        "filename !!!",
        "filename YQ== extra",
        "filename YQ==,filename Yg==",
        "filename /w==",
    ],
)
def test_malformed_metadata_is_refused(
    client: TestClient, headers: dict[str, str], folder: Folder, header: str
) -> None:
    refused = client.post(
        f"/api/v1/folders/{folder.id}/uploads",
        headers={**headers, **TUS, "Upload-Length": "3", "Upload-Metadata": header},
    )
    assert refused.status_code == 422
    assert refused.headers["Tus-Resumable"] == "1.0.0"


@pytest.mark.parametrize("length", ["-1", "abc", "", str(1 << 62)])
def test_a_bad_length_is_refused(
    client: TestClient, headers: dict[str, str], folder: Folder, length: str
) -> None:
    refused = client.post(
        f"/api/v1/folders/{folder.id}/uploads",
        headers={
            **headers,
            **TUS,
            "Upload-Length": length,
            "Upload-Metadata": metadata(filename="a"),
        },
    )
    assert refused.status_code == 422


def test_a_planted_symlink_is_not_followed(
    client: TestClient, headers: dict[str, str], folder: Folder, settings: Settings, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("precious")
    top = hosts.directory(settings, folder)
    os.symlink(outside, top / "escape")
    os.symlink(victim, top / "victim.txt")
    into_link = start(client, headers, folder, length=3, filename="x.txt", path="escape")
    assert into_link.status_code == 403
    assert "Symbolic links" in into_link.json()["error"]["message"]
    deeper = start(client, headers, folder, length=3, filename="x.txt", path="escape/sub")
    assert deeper.status_code in (403, 404)
    assert start(client, headers, folder, length=3, filename="victim.txt").status_code == 409
    replaced = upload(client, headers, folder, b"new", filename="victim.txt", replace="1")
    assert replaced.status_code == 204
    assert sorted(path.name for path in outside.iterdir()) == ["victim.txt"]
    assert victim.read_text() == "precious"
    assert not (top / "victim.txt").is_symlink()
    assert (top / "victim.txt").read_bytes() == b"new"


def test_only_one_request_appends_at_a_time(
    database: Database,
    settings: Settings,
    client: TestClient,
    headers: dict[str, str],
    owner: Account,
    folder: Folder,
) -> None:
    location = start(client, headers, folder, length=10).headers["Location"]
    upload_id = location.rsplit("/", 1)[1]
    with database.session() as db:
        first = uploads.open_append(
            db, settings, user=db.merge(owner.user), upload_id=upload_id, at=0
        )
    try:
        busy = send(client, headers, location, b"abc", at=0)
        assert busy.status_code == 409
        assert "Another request" in busy.json()["error"]["message"]
    finally:
        first.close()
    assert send(client, headers, location, b"abc", at=0).status_code == 204


@pytest.mark.db
def test_expired_uploads_are_removed_by_storage_upkeep(
    client: TestClient,
    headers: dict[str, str],
    folder: Folder,
    database: Database,
    settings: Settings,
) -> None:
    stale = start(client, headers, folder, length=10, filename="stale.bin").headers["Location"]
    send(client, headers, stale, b"12345", at=0)
    fresh = start(client, headers, folder, length=10, filename="fresh.bin").headers["Location"]
    with database.session() as db:
        row = db.get(Upload, uuid.UUID(stale.rsplit("/", 1)[1]))
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.commit()
    assert client.head(stale, headers={**headers, **TUS}).status_code == 404
    assert len(temp_files(settings, folder)) == 2
    StorageMonitor(database, settings).run_once()
    assert len(temp_files(settings, folder)) == 1
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(Upload)) == 1
    assert offset_of(client, headers, fresh) == 0


def test_storage_upkeep_finishes_emptying_the_trash_when_it_starts(
    database: Database, settings: Settings, factory: Factory, owner: Account
) -> None:
    factory.folder(owner.user)  # makes the storage host's directory
    leftover = hosts.hosts(settings)[hosts.LOCAL].path / hosts.TRASH / "deleted-folder"
    (leftover / "deep").mkdir(parents=True)
    (leftover / "deep" / "file").write_bytes(b"x")
    loop = StorageMonitor(database, settings)

    async def start_and_stop() -> None:
        await loop.start()
        await loop.stop()

    asyncio.run(start_and_stop())
    deadline = time.monotonic() + 30
    while leftover.exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # removal runs in a background thread
    assert not leftover.exists()
