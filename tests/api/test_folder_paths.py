"""Hostile paths and planted symlinks through the files API: refused or contained, never escaping.

The corpus goes to every path-taking route; afterwards nothing outside the folder was read,
created, changed or removed. A session can plant symlinks in a folder it mounts, so links
pointing outside are created directly on disk, as it would.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shipyard.config import Settings
from shipyard.storage.models import Folder
from tests.api.folder_helpers import Caller, caller, folder_dir, tree
from tests.factories import Factory

HOSTILE = [
    "..",
    "../",
    "../outside",
    "a/../../outside",
    "/etc/passwd",
    "//etc/passwd",
    "%2e%2e",
    "%2e%2e/outside",
    "%2E%2E%2Foutside",
    "..%2foutside",
    "%252e%252e/outside",
    "a\x00b",
    "a\nb",
    "a\\..\\outside",
    "x" * 300,
    "/".join(["d"] * 2100),
    "\u2025/outside",  # TWO DOT LEADER: an ordinary name, stays inside
    "\uff0e\uff0e/outside",  # FULLWIDTH FULL STOPs: ordinary names, stay inside
    "link-out",
    "link-out/secret.txt",
    "link-out/new",
    "inner/link-up/secret.txt",
]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("top secret")
    return path


@pytest.fixture
def owner(client: TestClient, factory: Factory) -> Caller:
    return caller(client, factory.user())


@pytest.fixture
def folder(factory: Factory, owner: Caller, settings: Settings, outside: Path) -> Folder:
    folder = factory.folder(owner.account.user, name="box")
    directory = folder_dir(settings, folder)
    (directory / "inner").mkdir()
    (directory / "file.txt").write_text("inside")
    os.symlink(outside, directory / "link-out")
    os.symlink("../../outside", directory / "inner" / "link-up")
    os.symlink(outside / "secret.txt", directory / "secret-link.txt")
    return folder


def snapshot(path: Path) -> dict[str, bytes | None]:
    return {
        name: (path / name).read_bytes() if (path / name).is_file() else None
        for name in sorted(tree(path))
    }


def requests_for(client: TestClient, base: str, headers: dict[str, str], hostile: str) -> list[int]:
    return [
        client.get(f"{base}/files", params={"path": hostile}, headers=headers).status_code,
        client.post(f"{base}/mkdir", json={"path": hostile}, headers=headers).status_code,
        client.post(
            f"{base}/move", json={"source": "file.txt", "target": hostile}, headers=headers
        ).status_code,
        client.post(
            f"{base}/move", json={"source": hostile, "target": "moved"}, headers=headers
        ).status_code,
        client.get(f"{base}/download", params={"path": hostile}, headers=headers).status_code,
    ]


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda text: repr(text[:40]))
def test_hostile_paths_are_refused_or_contained(
    client: TestClient,
    owner: Caller,
    folder: Folder,
    settings: Settings,
    outside: Path,
    hostile: str,
) -> None:
    base = f"/api/v1/folders/{folder.id}"
    before_outside = snapshot(outside)
    statuses = requests_for(client, base, owner.headers, hostile)
    assert 500 not in statuses
    assert statuses[0] in (403, 404, 422)  # nothing of that name is a directory inside
    assert statuses[4] in (403, 404, 422)  # nor a readable file
    assert snapshot(outside) == before_outside
    assert not (outside.parent / "moved").exists()
    # Whatever did succeed stayed inside: every new path is under the folder's directory.
    directory = folder_dir(settings, folder)
    for path in directory.rglob("*"):
        assert path.is_symlink() or path.resolve().is_relative_to(directory.resolve())


def test_reading_through_a_planted_link_is_refused(
    client: TestClient, owner: Caller, folder: Folder
) -> None:
    base = f"/api/v1/folders/{folder.id}"
    for path in ("link-out/secret.txt", "secret-link.txt", "inner/link-up/secret.txt"):
        response = client.get(f"{base}/download", params={"path": path}, headers=owner.headers)
        assert response.status_code in (403, 404), path
        assert b"top secret" not in response.content
    listing = client.get(f"{base}/files", params={"path": "link-out"}, headers=owner.headers)
    assert listing.status_code == 403
    assert "Symbolic links" in listing.json()["error"]["message"]


def test_links_are_listed_as_links(client: TestClient, owner: Caller, folder: Folder) -> None:
    listed = client.get(f"/api/v1/folders/{folder.id}/files", headers=owner.headers).json()
    kinds = {entry["name"]: entry["type"] for entry in listed["data"]}
    assert kinds == {
        "inner": "dir",
        "file.txt": "file",
        "link-out": "link",
        "secret-link.txt": "link",
    }


def test_deleting_a_link_removes_the_link_not_its_target(
    client: TestClient, owner: Caller, folder: Folder, settings: Settings, outside: Path
) -> None:
    base = f"/api/v1/folders/{folder.id}"
    for path in ("link-out", "secret-link.txt"):
        response = client.delete(f"{base}/files", params={"path": path}, headers=owner.headers)
        assert response.status_code == 204
    assert (outside / "secret.txt").read_text() == "top secret"
    assert not (folder_dir(settings, folder) / "link-out").is_symlink()
    refused = client.delete(
        f"{base}/files", params={"path": "inner/link-up/secret.txt"}, headers=owner.headers
    )
    assert refused.status_code == 403
    assert (outside / "secret.txt").exists()


def test_moving_the_folder_itself_or_into_itself_is_refused(
    client: TestClient, owner: Caller, folder: Folder
) -> None:
    base = f"/api/v1/folders/{folder.id}"
    for source, target in (("", "x"), ("inner", "inner/deeper"), (".", "x")):
        response = client.post(
            f"{base}/move", json={"source": source, "target": target}, headers=owner.headers
        )
        assert response.status_code == 422, (source, target)


def test_pagination_of_a_big_directory(
    client: TestClient, owner: Caller, folder: Folder, settings: Settings
) -> None:
    big = folder_dir(settings, folder) / "big"
    big.mkdir()
    for number in range(250):
        (big / f"f{number:03d}").write_text("x")
    base = f"/api/v1/folders/{folder.id}/files"
    first = client.get(base, params={"path": "big", "limit": 100}, headers=owner.headers).json()
    last = client.get(
        base, params={"path": "big", "offset": 200, "limit": 100}, headers=owner.headers
    ).json()
    assert (first["count"], len(first["data"]), first["data"][0]["path"]) == (250, 100, "big/f000")
    assert [entry["name"] for entry in last["data"]][-1] == "f249"
    assert len(last["data"]) == 50
    bad = client.get(base, params={"limit": 0}, headers=owner.headers)
    assert bad.status_code == 422
