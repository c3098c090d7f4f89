"""Downloads through the API: whole files, byte ranges, validators, names, links, permissions."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from shipyard.config import Settings
from shipyard.storage import hosts
from shipyard.storage.models import Folder, Perm
from tests.api.test_sessions_api import bearer
from tests.factories import Account, Factory

DATA = os.urandom(1_500_000)  # crosses several read chunks


@pytest.fixture
def owner(factory: Factory) -> Account:
    return factory.user()


@pytest.fixture
def headers(client: TestClient, owner: Account) -> dict[str, str]:
    return bearer(client, owner)


@pytest.fixture
def folder(factory: Factory, owner: Account, settings: Settings) -> Folder:
    folder = factory.folder(owner.user)
    (hosts.directory(settings, folder) / "data.bin").write_bytes(DATA)
    return folder


def get(
    client: TestClient,
    headers: dict[str, str],
    folder: Folder,
    path: str = "data.bin",
    **extra: str,
) -> httpx.Response:
    return client.get(
        f"/api/v1/folders/{folder.id}/download",
        params={"path": path},
        headers={**headers, **extra},
    )


@pytest.mark.smoke
def test_the_whole_file(client: TestClient, headers: dict[str, str], folder: Folder) -> None:
    answer = get(client, headers, folder)
    assert answer.status_code == 200
    assert answer.content == DATA
    assert answer.headers["Content-Length"] == str(len(DATA))
    assert answer.headers["Accept-Ranges"] == "bytes"
    assert answer.headers["Content-Type"] == "application/octet-stream"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["ETag"].startswith('"')
    assert answer.headers["Last-Modified"].endswith(" GMT")
    assert answer.headers["Content-Disposition"] == (
        "attachment; filename=\"data.bin\"; filename*=UTF-8''data.bin"
    )


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=10-19", 10, 19),
        ("bytes=500000-1048576", 500_000, 1_048_576),
        ("bytes=1400000-", 1_400_000, len(DATA) - 1),
        ("bytes=1499990-9999999", 1_499_990, len(DATA) - 1),
        ("bytes=-100", len(DATA) - 100, len(DATA) - 1),
        ("bytes=-9999999", 0, len(DATA) - 1),
    ],
)
def test_one_range(
    client: TestClient, headers: dict[str, str], folder: Folder, spec: str, start: int, end: int
) -> None:
    answer = get(client, headers, folder, Range=spec)
    assert answer.status_code == 206
    assert answer.content == DATA[start : end + 1]
    assert answer.headers["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert answer.headers["Content-Length"] == str(end - start + 1)


@pytest.mark.parametrize(
    "spec", [f"bytes={len(DATA)}-", f"bytes={len(DATA) + 5}-{len(DATA) + 9}", "bytes=-0"]
)
def test_a_range_past_the_end_is_416(
    client: TestClient, headers: dict[str, str], folder: Folder, spec: str
) -> None:
    answer = get(client, headers, folder, Range=spec)
    assert answer.status_code == 416
    assert answer.headers["Content-Range"] == f"bytes */{len(DATA)}"
    assert answer.json()["error"]["code"] == "range_not_satisfiable"


def test_any_range_of_an_empty_file_is_416(
    client: TestClient, headers: dict[str, str], folder: Folder, settings: Settings
) -> None:
    (hosts.directory(settings, folder) / "empty").write_bytes(b"")
    assert get(client, headers, folder, "empty").content == b""
    answer = get(client, headers, folder, "empty", Range="bytes=0-")
    assert answer.status_code == 416
    assert answer.headers["Content-Range"] == "bytes */0"


@pytest.mark.parametrize(
    "spec", ["bytes=0-1,5-6", "bytes=9-3", "items=0-5", "bytes=x-y", "bytes=-"]
)
def test_several_or_malformed_ranges_give_the_whole_file(
    client: TestClient, headers: dict[str, str], folder: Folder, spec: str
) -> None:
    answer = get(client, headers, folder, Range=spec)
    assert answer.status_code == 200
    assert answer.content == DATA


def test_if_range(
    client: TestClient, headers: dict[str, str], folder: Folder, settings: Settings
) -> None:
    first = get(client, headers, folder)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert get(client, headers, folder, Range="bytes=0-9", **{"If-Range": etag}).status_code == 206
    by_date = get(client, headers, folder, Range="bytes=0-9", **{"If-Range": modified})
    assert by_date.status_code == 206
    stale = get(client, headers, folder, Range="bytes=0-9", **{"If-Range": '"other"'})
    assert stale.status_code == 200
    assert stale.content == DATA
    target = hosts.directory(settings, folder) / "data.bin"
    target.write_bytes(DATA[::-1])
    changed = get(client, headers, folder, Range="bytes=0-9", **{"If-Range": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert changed.content == DATA[::-1]


def test_head_describes_without_a_body(
    client: TestClient, headers: dict[str, str], folder: Folder
) -> None:
    answer = client.head(
        f"/api/v1/folders/{folder.id}/download", params={"path": "data.bin"}, headers=headers
    )
    assert answer.status_code == 200
    assert answer.content == b""
    assert answer.headers["Content-Length"] == str(len(DATA))
    assert answer.headers["Accept-Ranges"] == "bytes"
    ranged = client.head(
        f"/api/v1/folders/{folder.id}/download",
        params={"path": "data.bin"},
        headers={**headers, "Range": "bytes=5-9"},
    )
    assert ranged.status_code == 206
    assert ranged.headers["Content-Range"] == f"bytes 5-9/{len(DATA)}"


@pytest.mark.parametrize(
    ("name", "fallback", "encoded", "media_type"),
    [
        (
            "résumé 日本.txt",
            "resume .txt",
            "r%C3%A9sum%C3%A9%20%E6%97%A5%E6%9C%AC.txt",
            "text/plain",
        ),
        ('say "hi".csv', "say _hi_.csv", "say%20%22hi%22.csv", "text/csv"),
        ("日本", "download", "%E6%97%A5%E6%9C%AC", "application/octet-stream"),
    ],
)
def test_names_in_content_disposition(
    client: TestClient,
    headers: dict[str, str],
    folder: Folder,
    settings: Settings,
    name: str,
    fallback: str,
    encoded: str,
    media_type: str,
) -> None:
    (hosts.directory(settings, folder) / name).write_bytes(b"a,b\n")
    answer = get(client, headers, folder, name)
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    )
    assert answer.headers["Content-Type"].split(";")[0] == media_type


def test_links_folders_and_missing_files_are_refused(
    client: TestClient, headers: dict[str, str], folder: Folder, settings: Settings, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    top = hosts.directory(settings, folder)
    os.symlink(secret, top / "link.txt")
    os.symlink(tmp_path, top / "linkdir")
    (top / "sub").mkdir()
    assert get(client, headers, folder, "link.txt").status_code == 403
    assert get(client, headers, folder, "linkdir/secret.txt").status_code == 403
    assert get(client, headers, folder, "sub").status_code == 422
    assert get(client, headers, folder, "").status_code == 422
    assert get(client, headers, folder, "missing").status_code == 404
    assert get(client, headers, folder, "../secret.txt").status_code == 422
    assert get(client, headers, folder, "%2e%2e/secret.txt").status_code == 422


def test_who_may_download(
    client: TestClient, owner: Account, folder: Folder, factory: Factory
) -> None:
    reader, stranger, admin = factory.user(), factory.user(), factory.admin()
    factory.share(folder, owner.user, reader, Perm.RO)
    assert get(client, bearer(client, reader), folder).content == DATA
    assert get(client, bearer(client, stranger), folder).status_code == 404
    refused = get(client, bearer(client, admin), folder)
    assert refused.status_code == 403
    assert "read" in refused.json()["error"]["message"]
