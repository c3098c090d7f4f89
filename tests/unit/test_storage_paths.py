"""Storage paths: hostile text is refused, and no operation reaches outside the folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

from shipyard.errors import Conflict, InvalidInput, NotFound, PermissionDenied, ShipyardError
from shipyard.storage import paths, staging
from shipyard.storage.paths import FolderRoot

REFUSED = [
    "..",
    "../x",
    "a/../../x",
    "a/..",
    "%2e%2e/x",
    "%2E%2e",
    "a/%2e%2e/%2e%2e/x",
    "%252e%252e/x",
    "a%2fb%2f%2e%2e",
    "a%252fb",
    "a\\..\\b",
    "a\\b",
    "a%5c..%5cb",
    "a\x00b",
    "%00",
    "a\x1b[31m",
    "a\nb",
    "a\x7fb",
    "\u0085x",
    "%ff",
    "x" * 256,
    "é" * 128,
    "/".join(["abc"] * 1100),
]

CONTAINED = {
    "": ".",
    "/": ".",
    ".": ".",
    "./": ".",
    "a/b": "a/b",
    "/a/b": "a/b",
    "/etc/passwd": "etc/passwd",
    "a//b/./c": "a/b/c",
    "a/b/": "a/b",
    "\u2024\u2024/x": "\u2024\u2024/x",
    "\uff0e\uff0e/x": "\uff0e\uff0e/x",
    "...": "...",
    "100%.txt": "100%.txt",
    "e\u0301": "\u00e9",
    "x" * 255: "x" * 255,
}


@pytest.mark.parametrize("text", REFUSED)
def test_hostile_paths_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        paths.clean(text)
    assert caught.value.details == {"field": "path"}


@pytest.mark.parametrize(("text", "expected"), CONTAINED.items())
def test_other_paths_are_normalised_inside_the_folder(text: str, expected: str) -> None:
    assert paths.clean(text) == PurePosixPath(expected)


@dataclass
class World:
    """A storage root with two folders and its upload staging, and a secret directory outside."""

    root: FolderRoot
    sibling: Path
    outside: Path

    @property
    def staging(self) -> Path:
        return self.root.path.parent / staging.DIRECTORY

    @property
    def home(self) -> Path:
        return self.root.path


def snapshot(*dirs: Path) -> dict[str, bytes | None]:
    """Every entry under the given dirs, with file contents, to prove nothing changed."""
    seen: dict[str, bytes | None] = {}
    for top in dirs:
        for base, names, files in os.walk(top):
            for name in names:
                seen[os.path.join(base, name)] = None
            for name in files:
                seen[os.path.join(base, name)] = Path(base, name).read_bytes()
    return seen


@pytest.fixture
def world(tmp_path: Path) -> World:
    storage = tmp_path / "storage"
    home, sibling, outside = storage / "1", storage / "2", tmp_path / "outside"
    for directory in (home / "docs", sibling / "inner", outside / "deep"):
        directory.mkdir(parents=True)
    (home / "docs" / "note.txt").write_bytes(b"mine")
    (sibling / "inner" / "theirs.txt").write_bytes(b"theirs")
    (outside / "secret.txt").write_bytes(b"secret")
    (outside / "deep" / "more.txt").write_bytes(b"more")
    links = {
        "etc": "/etc",
        "out_abs": str(outside),
        "out_rel": "../../outside",
        "secret_file": str(outside / "secret.txt"),
        "sibling": "../2",
        "up": "..",
        "loop_a": "loop_b",
        "loop_b": "loop_a",
    }
    for name, target in links.items():
        (home / name).symlink_to(target)
    (home / "docs" / "up2").symlink_to("../..")
    return World(FolderRoot(home), sibling, outside)


def publish(
    world: World, directory: str, name: str, data: bytes = b"", *, replace: bool = False
) -> None:
    """Stage `data` as an upload would and publish it as `directory/name` in the folder."""
    staged = staging.name_for(uuid.uuid4())
    fd = staging.create(world.staging, staged, owner=None)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    try:
        with staging.opened(world.staging) as staged_dir:
            paths.publish(
                world.root,
                directory,
                name,
                staged_dir=staged_dir,
                staged_name=staged,
                replace=replace,
            )
    finally:
        staging.discard(world.staging, staged)


LINKED_DIRS = ["etc", "out_abs", "out_rel", "sibling", "up", "loop_a", "docs/up2"]
THROUGH_LINKS = [f"{link}/x" for link in LINKED_DIRS] + ["out_abs/deep/more.txt", "up/2/inner"]


def guarded(world: World, action: Callable[[], object]) -> ShipyardError:
    """Run an action that must be refused; assert nothing outside the folder changed."""
    before = snapshot(world.sibling, world.outside)
    with pytest.raises(ShipyardError) as caught:
        action()
    assert snapshot(world.sibling, world.outside) == before
    assert isinstance(caught.value, InvalidInput | NotFound | PermissionDenied | Conflict)
    return caught.value


@pytest.mark.parametrize("rel", THROUGH_LINKS)
def test_a_link_as_a_directory_component_is_refused_by_every_operation(
    world: World, rel: str
) -> None:
    root = world.root
    actions: list[Callable[[], object]] = [
        lambda: paths.stat(root, rel),
        lambda: paths.list_dir(root, rel),
        lambda: paths.open_read(root, rel),
        lambda: paths.mkdir(root, rel),
        lambda: paths.remove(root, rel),
        lambda: paths.rename(root, rel, "moved"),
        lambda: paths.rename(root, "docs/note.txt", rel),
        lambda: publish(world, rel, "x"),
        lambda: paths.open_dir(root, rel),
    ]
    for action in actions:
        error = guarded(world, action)
        assert isinstance(error, PermissionDenied | NotFound)
    assert (world.home / "docs" / "note.txt").read_bytes() == b"mine"


@pytest.mark.parametrize("link", LINKED_DIRS)
def test_a_link_itself_is_never_followed(world: World, link: str) -> None:
    root = world.root
    for action in (
        lambda: paths.list_dir(root, link),
        lambda: paths.open_read(root, link),
        lambda: publish(world, link, "x"),
        lambda: paths.mkdir(root, link),
        lambda: paths.rename(root, "docs/note.txt", link),
    ):
        guarded(world, action)
    assert paths.stat(root, link).is_symlink


def test_a_link_to_an_outside_file_is_not_read(world: World) -> None:
    error = guarded(world, lambda: paths.open_read(world.root, "secret_file"))
    assert isinstance(error, PermissionDenied)
    assert "Symbolic links" in error.message


def test_removing_or_renaming_a_link_touches_only_the_link(world: World) -> None:
    before = snapshot(world.sibling, world.outside)
    paths.rename(world.root, "out_abs", "docs/renamed_link")
    assert (world.home / "docs" / "renamed_link").is_symlink()
    for link in [*LINKED_DIRS, "docs/renamed_link", "secret_file", "loop_b"]:
        if link != "out_abs":
            paths.remove(world.root, link)
    assert snapshot(world.sibling, world.outside) == before
    assert sorted(p.name for p in world.home.iterdir()) == ["docs"]


def test_removing_a_tree_does_not_follow_links_inside_it(world: World) -> None:
    (world.home / "docs" / "out").symlink_to(world.outside)
    before = snapshot(world.sibling, world.outside)
    paths.remove(world.root, "docs")
    assert not (world.home / "docs").exists()
    assert snapshot(world.sibling, world.outside) == before


def test_publishing_into_a_linked_directory_or_out_of_it_is_refused(world: World) -> None:
    guarded(world, lambda: publish(world, "out_abs", "x"))
    guarded(world, lambda: publish(world, "docs", "../x"))
    guarded(world, lambda: publish(world, "docs", "../../outside/secret.txt"))
    guarded(world, lambda: publish(world, "docs", f"{paths.TEMP_PREFIX}x"))


def test_look_alike_dots_make_an_ordinary_folder(world: World) -> None:
    paths.mkdir(world.root, "\u2024\u2024")
    paths.mkdir(world.root, "\u2024\u2024/x")
    assert (world.home / "\u2024\u2024" / "x").is_dir()


def test_stat_reports_files_and_folders(world: World) -> None:
    note = paths.stat(world.root, "/docs//note.txt")
    assert (note.name, note.is_dir, note.is_symlink, note.size) == ("note.txt", False, False, 4)
    assert paths.stat(world.root, "docs/").is_dir
    assert paths.stat(world.root, "").is_dir


def test_missing_and_hidden_paths_read_the_same(world: World) -> None:
    temp = f"{paths.TEMP_PREFIX}0123"  # an older version's upload temp file
    (world.home / "docs" / temp).write_bytes(b"partial")
    messages = set()
    for rel in ("docs/nope", f"docs/{temp}", "nope/x", "docs/note.txt/x"):
        with pytest.raises(NotFound) as caught:
            paths.stat(world.root, rel)
        messages.add(caught.value.message)
    assert len(messages) == 1
    with pytest.raises(NotFound):
        paths.open_read(world.root, f"docs/{temp}")


def test_listing_pages_with_a_total(world: World) -> None:
    for index in range(5):
        (world.home / "docs" / f"f{index}").write_bytes(b"x" * index)
    (world.home / "docs" / "sub").mkdir()
    (world.home / "docs" / f"{paths.TEMP_PREFIX}0123").write_bytes(b"partial")
    first, total = paths.list_dir(world.root, "docs", offset=0, limit=3)
    rest, same_total = paths.list_dir(world.root, "docs", offset=3, limit=10)
    assert total == same_total == 8
    names = ["sub", "f0", "f1", "f2", "f3", "f4", "note.txt", "up2"]
    assert [e.name for e in first + rest] == names
    assert first[0].is_dir
    assert rest[-2].size == 4
    assert [e.name for e in first + rest if e.is_symlink] == ["up2"]
    assert paths.list_dir(world.root, "docs", offset=50) == ([], 8)


@pytest.mark.parametrize(("offset", "limit"), [(-1, 10), (0, 0), (0, 10_000)])
def test_listing_refuses_bad_pages(world: World, offset: int, limit: int) -> None:
    with pytest.raises(InvalidInput):
        paths.list_dir(world.root, "", offset=offset, limit=limit)


def test_read_returns_file_content_and_refuses_folders(world: World) -> None:
    with paths.open_read(world.root, "docs/note.txt") as handle:
        assert handle.read() == b"mine"
    with pytest.raises(InvalidInput):
        paths.open_read(world.root, "docs")
    os.mkfifo(world.home / "pipe")
    with pytest.raises(InvalidInput):
        paths.open_read(world.root, "pipe")


def test_mkdir_refuses_existing_and_the_folder_itself(world: World) -> None:
    paths.mkdir(world.root, "docs/new")
    assert (world.home / "docs" / "new").is_dir()
    with pytest.raises(Conflict):
        paths.mkdir(world.root, "docs/new")
    with pytest.raises(InvalidInput):
        paths.mkdir(world.root, "/")
    with pytest.raises(NotFound):
        paths.mkdir(world.root, "missing/new")


def test_rename_moves_inside_and_refuses_into_itself(world: World) -> None:
    paths.mkdir(world.root, "docs/sub")
    for target in ("docs", "docs/sub", "docs/sub/deeper"):
        with pytest.raises(InvalidInput):
            paths.rename(world.root, "docs", target)
    with pytest.raises(Conflict):
        paths.rename(world.root, "docs/note.txt", "docs/sub")
    with pytest.raises(NotFound):
        paths.rename(world.root, "docs/missing", "docs/other")
    paths.rename(world.root, "docs/note.txt", "docs/sub/moved.txt")
    assert (world.home / "docs" / "sub" / "moved.txt").read_bytes() == b"mine"
    paths.rename(world.root, "docs/sub", "sub")
    assert (world.home / "sub" / "moved.txt").exists()


def test_remove_refuses_the_folder_itself(world: World) -> None:
    for rel in ("", "/", "."):
        with pytest.raises(InvalidInput):
            paths.remove(world.root, rel)
    with pytest.raises(NotFound):
        paths.remove(world.root, "docs/missing")
    assert world.home.is_dir()


def test_a_published_file_appears_whole_and_leaves_staging(world: World) -> None:
    payload = os.urandom(1 << 20)
    publish(world, "docs", "up.bin", payload)
    with paths.open_read(world.root, "docs/up.bin") as reader:
        assert reader.read() == payload
    assert list(world.staging.iterdir()) == []


def test_publishing_refuses_an_existing_name_unless_replacing(world: World) -> None:
    with pytest.raises(Conflict):
        publish(world, "docs", "note.txt", b"new")
    assert (world.home / "docs" / "note.txt").read_bytes() == b"mine"
    publish(world, "docs", "note.txt", b"new", replace=True)
    assert (world.home / "docs" / "note.txt").read_bytes() == b"new"


def test_publishing_over_a_link_replaces_only_the_link(world: World) -> None:
    before = snapshot(world.outside)
    publish(world, "", "secret_file", replace=True)
    assert not (world.home / "secret_file").is_symlink()
    assert snapshot(world.outside) == before


def test_discarding_an_older_versions_temp_file(world: World) -> None:
    temp = f"{paths.TEMP_PREFIX}0123"
    (world.home / "docs" / temp).write_bytes(b"partial")
    paths.discard_legacy_temp(world.root, "docs", temp)
    paths.discard_legacy_temp(world.root, "docs", temp)
    assert sorted(p.name for p in (world.home / "docs").iterdir()) == ["note.txt", "up2"]
    with pytest.raises(InvalidInput):
        paths.discard_legacy_temp(world.root, "docs", "note.txt")


def test_a_folder_root_must_be_an_existing_absolute_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="folder root"):
        FolderRoot(Path("relative"))
    with pytest.raises(ValueError, match="folder root"):
        FolderRoot(tmp_path / "missing")
