"""`shipyard folder ...` in-process against this test's app: folders, files, uploads,
downloads, sharing, and how failures read. Interrupted transfers (Ctrl-C, a network that dies
part-way) are about processes: tests/api/test_cli_resume.py runs the real executable for them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from shipyard.db import Database
from shipyard.storage.models import Folder
from tests.cli_helpers import Cli, CliAs, cli_as_fixture, served_fixture  # noqa: F401  (fixtures)
from tests.factories import Factory

MIB = 1024 * 1024


@pytest.fixture
def people(cli_as: CliAs, factory: Factory) -> Callable[[], Cli]:
    """Makes users, each logged in through the API, each with a command line of their own."""
    return lambda: cli_as(factory.user())


def state_file(cli: Cli) -> Path:
    """Where the CLI remembers unfinished uploads."""
    return cli.home / "state" / "shipyard" / "uploads.json"


def random_file(path: Path, size: int) -> Path:
    with path.open("wb") as out:
        for start in range(0, size, MIB):
            out.write(os.urandom(min(MIB, size - start)))
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(MIB):
            digest.update(block)
    return digest.hexdigest()


def names(listing: dict[str, Any]) -> dict[str, tuple[str, int]]:
    return {entry["name"]: (entry["type"], entry["size"]) for entry in listing["data"]}


def test_folders_files_uploads_and_downloads(people: Callable[[], Cli], tmp_path: Path) -> None:
    alice = people()
    created = alice.json("folder", "create", "data", "--usage-mode", "data")
    assert (created["name"], created["permission"], created["usage_mode"]) == (
        "data",
        "owner",
        "data",
    )
    table = alice.ok("folder", "list")
    assert "data" in table
    assert "owner" in table
    assert "∞" in table

    alice.ok("folder", "mkdir", "data", "inbox")
    for _attempt in range(2):  # -p: a directory that exists is fine
        alice.ok("folder", "mkdir", "data", "deep/er/est", "-p")
    one = random_file(tmp_path / "one.bin", 3 * MIB + 17)
    two = tmp_path / "two.txt"
    two.write_text("hello folders\n")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "top.txt").write_text("top\n")
    (tree / "sub" / "leaf.txt").write_text("leaf\n")
    (tree / "sub" / "empty").write_bytes(b"")

    sent = alice.json("folder", "upload", "data", str(one), str(two), "--to", "inbox")
    assert [(s["path"], s["size"], s["resumed_from"]) for s in sent["uploaded"]] == [
        ("inbox/one.bin", 3 * MIB + 17, 0),
        ("inbox/two.txt", 14, 0),
    ]
    printed = alice.ok("folder", "upload", "data", str(tree), "-r")
    assert "tree/sub/leaf.txt" in printed

    assert names(alice.json("folder", "ls", "data", "inbox")) == {
        "one.bin": ("file", 3 * MIB + 17),
        "two.txt": ("file", 14),
    }
    assert names(alice.json("folder", "ls", "data", "tree/sub")) == {
        "empty": ("file", 0),
        "leaf.txt": ("file", 5),
    }
    paged = alice.json("folder", "ls", "data", "--limit", "1", "--all")
    assert [e["name"] for e in paged["data"]] == ["deep", "inbox", "tree"]
    assert "1 to 1 of 3" in alice.ok("folder", "ls", "data", "--limit", "1")

    copy = tmp_path / "copy.bin"
    got = alice.json("folder", "download", "data", "inbox/one.bin", str(copy))
    assert (got["size"], got["resumed_from"]) == (3 * MIB + 17, 0)
    assert sha256(copy) == sha256(one)
    assert "exists: add --force" in alice.fails(
        "folder", "download", "data", "inbox/one.bin", str(copy)
    )
    alice.ok("folder", "download", "data", "inbox/two.txt", str(copy), "--force")
    assert copy.read_text() == "hello folders\n"

    alice.ok("folder", "mv", "data", "inbox/two.txt", "tree/two.txt")
    assert "nothing deleted" in alice.fails("folder", "rm", "data", "inbox", stdin="n\n")
    alice.ok("folder", "rm", "data", "inbox", "tree/sub", "--yes")
    assert set(names(alice.json("folder", "ls", "data"))) == {"deep", "tree"}
    assert names(alice.json("folder", "ls", "data", "tree")) == {
        "top.txt": ("file", 4),
        "two.txt": ("file", 14),
    }


def test_sharing_by_invitation(people: Callable[[], Cli], tmp_path: Path) -> None:
    alice, bob, carol = people(), people(), people()
    alice.ok("folder", "create", "shared")
    invited = alice.json("folder", "invite", "shared", bob.email, "--perm", "ro")
    assert invited["permission"] == "ro"
    alice.ok("folder", "invite", "shared", carol.email, "--perm", "rw")
    assert bob.email in alice.ok("folder", "shares", "shared")

    pending = bob.json("folder", "invitations")["data"]
    assert [(i["id"], i["folder"], i["permission"]) for i in pending] == [
        (invited["id"], "shared", "ro")
    ]
    assert "shared" in bob.ok("folder", "accept", invited["id"])
    bob.ok("folder", "rename", "shared", "from-alice")  # only bob's name for it
    mine = {
        f["name"]: (f["permission"], f["folder_name"]) for f in bob.json("folder", "list")["data"]
    }
    assert mine == {"from-alice": ("ro", "shared")}

    note = tmp_path / "note.txt"
    note.write_text("from bob\n")
    refused = bob.fails("folder", "upload", "from-alice", str(note))
    assert "You may only read this folder" in refused
    assert names(alice.json("folder", "ls", "shared")) == {}

    carol.ok("folder", "decline", carol.json("folder", "invitations")["data"][0]["id"])
    assert "0 pending invitation(s)" in carol.ok("folder", "invitations")
    assert "No such folder" in carol.fails("folder", "info", "shared")

    alice.ok("folder", "revoke", "shared", bob.email)
    assert "No such folder" in bob.fails("folder", "ls", "from-alice")
    assert "not an invitation id" in bob.fails("folder", "accept", "nonsense")


def test_failures_are_clear_and_change_nothing(
    people: Callable[[], Cli], database: Database, tmp_path: Path
) -> None:
    alice = people()
    assert "No such folder" in alice.fails("folder", "download", "nowhere", "a.txt", str(tmp_path))
    alice.ok("folder", "create", "small")
    with database.session() as db:
        db.execute(update(Folder).where(Folder.name == "small").values(max_size=MIB))
        db.commit()
    big = random_file(tmp_path / "big.bin", 2 * MIB)
    refused = alice.fails("folder", "upload", "small", str(big))
    assert "over its size limit" in refused
    assert names(alice.json("folder", "ls", "small")) == {}
    assert (
        not state_file(alice).exists() or json.loads(state_file(alice).read_text())["uploads"] == []
    )

    small = tmp_path / "a.txt"
    small.write_text("first\n")
    alice.ok("folder", "upload", "small", str(small))
    small.write_text("second\n")
    clash = alice.fails("folder", "upload", "small", str(small))
    assert "already exists" in clash
    assert "--replace" in clash
    alice.ok("folder", "upload", "small", str(small), "--replace")
    alice.ok("folder", "download", "small", "a.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "second\n"

    assert "is a directory: add -r" in alice.fails("folder", "upload", "small", str(tmp_path))
    assert "no such file" in alice.fails("folder", "upload", "small", str(tmp_path / "missing"))
    assert "No such file or folder" in alice.fails("folder", "download", "small", "missing.txt")
    assert "No such file or folder" in alice.fails("folder", "mkdir", "small", "x/y")
    assert not (tmp_path / "missing.txt.part").exists()

    assert "nothing deleted" in alice.fails("folder", "delete", "small", stdin="n\n")
    alice.ok("folder", "delete", "small", "--yes")
    assert "No such folder" in alice.fails("folder", "info", "small")
