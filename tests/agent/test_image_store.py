"""The agent's image store: safe unpacking of real and hostile images, the shared cache, GC.

Layouts are made in memory (tests/image_corpus.py) or by the real umoci and skopeo; the
store runs as the agent does, as root. After every hostile image, a snapshot of everything
around the store proves that nothing was written outside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.agent.images import (
    BlobMismatch,
    Digest,
    HostileLayer,
    ImageError,
    ImageStore,
    Limits,
    MalformedImage,
    UnknownHolder,
    resolve,
)
from tests.image_corpus import (
    directory,
    file,
    hardlink,
    hostile_cases,
    layer,
    opaque,
    put_blob,
    symlink,
    whiteout,
    write_layout,
)

SMALL = Limits(max_entries=1000, max_bytes=4 << 20)
Tree = dict[str, tuple[object, ...]]


def tree(top: Path) -> Tree:
    """Every entry below `top`: ("d", mode), ("f", content, mode) or ("l", target)."""
    found: Tree = {}
    for directory_, dirs, files in os.walk(top):
        for name in (*dirs, *files):
            path = Path(directory_, name)
            info = path.lstat()
            key = "/" + str(path.relative_to(top))
            if stat.S_ISLNK(info.st_mode):
                found[key] = ("l", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[key] = ("d", stat.S_IMODE(info.st_mode))
            elif stat.S_ISREG(info.st_mode):
                found[key] = ("f", path.read_bytes(), stat.S_IMODE(info.st_mode))
            else:
                found[key] = ("other", info.st_mode)
    return found


def snapshot(top: Path, *, skip: Path) -> dict[str, tuple[object, ...]]:
    """Everything below `top` but `skip`, with each entry's type, mode, size, mtime and data."""
    found: dict[str, tuple[object, ...]] = {}
    for directory_, dirs, files in os.walk(top):
        dirs[:] = [name for name in dirs if Path(directory_, name) != skip]
        for name in (*dirs, *files):
            path = Path(directory_, name)
            info = path.lstat()
            data = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            link = os.readlink(path) if path.is_symlink() else ""
            found[str(path)] = (info.st_mode, info.st_size, info.st_mtime_ns, data, link)
    return found


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "store", budget=1 << 30, limits=SMALL)


def leftovers(store: ImageStore) -> list[str]:
    return sorted(entry.name for entry in (store.root / "tmp").iterdir())


# -- a good image ------------------------------------------------------------------------

GOOD = (
    layer(
        directory("etc"),
        directory("etc/app"),
        file("etc/app/a.conf", b"a"),
        file("etc/app/b.conf", b"b"),
        file("etc/keep", b"old"),
        directory("var/cache/sub"),
        file("var/cache/old", b"1"),
        file("var/cache/sub/old", b"2"),
        file("bin/tool", b"#!/bin/sh\necho tool\n", mode=0o755),
        symlink("bin/t", "tool"),
        hardlink("bin/tool2", "bin/tool"),
        file("gone/x", b"x"),
        symlink("lib", "usr/lib"),
        file("usr/lib/libc.so", b"libc"),
    ),
    layer(
        whiteout("etc/app/a.conf"),
        file("var/cache/sub/fresh", b"3"),  # before the opaque marker: it must survive it
        opaque("var/cache"),
        file("var/cache/new", b"4"),
        whiteout("gone"),
        file("etc/keep", b"new", mode=0o600),
    ),
    layer(whiteout("bin/t"), file("gone", b"a file now"), whiteout("nothing-there")),
)
EXPECTED: Tree = {
    "/etc": ("d", 0o755),
    "/etc/app": ("d", 0o755),
    "/etc/app/b.conf": ("f", b"b", 0o644),
    "/etc/keep": ("f", b"new", 0o600),
    "/var": ("d", 0o755),
    "/var/cache": ("d", 0o755),
    "/var/cache/new": ("f", b"4", 0o644),
    "/var/cache/sub": ("d", 0o755),
    "/var/cache/sub/fresh": ("f", b"3", 0o644),
    "/bin": ("d", 0o755),
    "/bin/tool": ("f", b"#!/bin/sh\necho tool\n", 0o755),
    "/bin/tool2": ("f", b"#!/bin/sh\necho tool\n", 0o755),
    "/gone": ("f", b"a file now", 0o644),
    "/lib": ("l", "usr/lib"),
    "/usr": ("d", 0o755),
    "/usr/lib": ("d", 0o755),
    "/usr/lib/libc.so": ("f", b"libc", 0o644),
}


@pytest.mark.parametrize(
    ("compression", "docker"), [("gzip", False), ("none", False), ("zstd", False), ("gzip", True)]
)
def test_whiteouts_across_layers_give_the_expected_tree(
    store: ImageStore, tmp_path: Path, compression: str, docker: bool
) -> None:
    digest = write_layout(
        tmp_path / "layout",
        GOOD,
        compression=compression,  # type: ignore[arg-type]
        docker=docker,
        config={"Cmd": ["/bin/tool"], "Env": ["A=1"]},
    )
    seen: list[tuple[int, int]] = []
    ready = store.ensure(tmp_path / "layout", digest, progress=lambda *p: seen.append(p))

    assert ready.unpacked
    assert tree(ready.rootfs) == EXPECTED
    assert os.stat(ready.rootfs / "bin/tool").st_ino == os.stat(ready.rootfs / "bin/tool2").st_ino
    assert ready.config["config"] == {"Cmd": ["/bin/tool"], "Env": ["A=1"]}
    assert seen[-1][0] == seen[-1][1] > 0  # progress ends at the layers' full size
    again = store.ensure(tmp_path / "layout", digest)
    assert (again.rootfs, again.unpacked, again.config) == (ready.rootfs, False, ready.config)
    [stored] = store.images()
    assert (str(stored.digest), stored.size > 0, stored.holders) == (digest, True, ())


def test_images_made_by_umoci_and_copied_by_skopeo(store: ImageStore, tmp_path: Path) -> None:
    """Layouts of the real tools: umoci's whiteouts and opaque dirs, skopeo's zstd and v2s2."""
    source = tmp_path / "src"
    (source / "keep").mkdir(parents=True)
    (source / "keep/a").write_text("a")
    (source / "keep/b").write_text("b")
    (source / "other").write_text("o")
    replacement = tmp_path / "replacement"
    replacement.mkdir()
    (replacement / "only").write_text("only")
    image = f"{tmp_path}/umoci:t"

    def run(*argv: str) -> None:
        subprocess.run(argv, check=True, capture_output=True, timeout=60)

    run("umoci", "init", "--layout", f"{tmp_path}/umoci")
    run("umoci", "new", "--image", image)
    run("umoci", "insert", "--image", image, str(source), "/data")
    run("umoci", "insert", "--image", image, "--whiteout", "/data/keep/a")
    run("umoci", "insert", "--image", image, "--opaque", str(replacement), "/data/other-dir")
    run("umoci", "insert", "--image", image, "--whiteout", "/data/other")
    run(
        "skopeo",
        "copy",
        "-q",
        "--dest-compress-format",
        "zstd",
        f"oci:{image}",
        f"oci:{tmp_path}/zstd:t",
    )
    run("skopeo", "copy", "-q", "--format", "v2s2", f"oci:{image}", f"oci:{tmp_path}/docker:t")

    trees = []
    for layout in ("umoci", "zstd", "docker"):
        ready = store.ensure(tmp_path / layout, resolve(tmp_path / layout, "t"))
        trees.append({path: entry[:2] for path, entry in tree(ready.rootfs).items()})
    assert trees[0] == {
        "/data": ("d", 0o755),
        "/data/keep": ("d", 0o755),
        "/data/keep/b": ("f", b"b"),
        "/data/other-dir": ("d", 0o755),
        "/data/other-dir/only": ("f", b"only"),
    }
    assert trees[1] == trees[0]
    assert trees[2] == trees[0]
    assert len(store.images()) == 3  # three manifests (digests), three stored copies


# -- hostile images ----------------------------------------------------------------------


def _victim(outside: Path) -> None:
    outside.mkdir()
    (outside / "victim").write_text("original")
    (outside / "sub").mkdir()


NEUTRALISED: dict[str, Callable[[Path, Path], None]] = {
    "absolute path": lambda root, out: (
        _assert((root / str(out).lstrip("/") / "victim").read_bytes() == b"overwritten"),
        _assert((root / "abs").read_bytes() == b"a"),
    ),
    "replace a symlink with a file": lambda root, _out: _assert(
        tree(root)["/victim"] == ("f", b"overwritten", 0o644)
    ),
    "replace a symlink with a directory": lambda root, _out: _assert(
        tree(root)["/d"] == ("d", 0o755) and (root / "d/planted").read_bytes() == b"x"
    ),
    "hard link to a symlink out": lambda root, out: _assert(
        tree(root)["/s"] == ("l", f"{out}/victim") and tree(root)["/h"][:2] == ("f", b"overwritten")
    ),
    "character device": lambda root, _out: _assert(tree(root) == {}),
    "block device": lambda root, _out: _assert(tree(root) == {}),
    "fifo": lambda root, _out: _assert(tree(root) == {}),
    "device over a lower file": lambda root, _out: _assert(tree(root) == {"/dev": ("d", 0o755)}),
    "setuid and setgid bits": lambda root, _out: _assert(
        {path: entry[-1] for path, entry in tree(root).items()}
        == {"/bin": 0o755, "/bin/su": 0o755, "/bin/sg": 0o755, "/shared": 0o755, "/world": 0o644}
    ),
    "whiteout of an absolute outside path": lambda root, _out: _assert(tree(root) == {}),
}


def _assert(condition: bool) -> None:
    assert condition


def test_the_corpus_is_covered() -> None:
    neutralised = {name for name, case in hostile_cases(Path("/x")).items() if not case.refused}
    assert neutralised == set(NEUTRALISED)


@pytest.mark.parametrize("name", sorted(hostile_cases(Path("/x"))))
def test_hostile_layer_is_refused_or_neutralised(tmp_path: Path, name: str) -> None:
    outside = tmp_path / "outside"
    _victim(outside)
    case = hostile_cases(outside)[name]
    digest = write_layout(tmp_path / "layout", case.layers)
    store = ImageStore(tmp_path / "store", budget=1 << 30, limits=SMALL)
    before = snapshot(tmp_path, skip=store.root)

    if case.refused:
        with pytest.raises(ImageError) as refused:
            store.ensure(tmp_path / "layout", digest)
        assert refused.value.message
        assert store.images() == []
    else:
        ready = store.ensure(tmp_path / "layout", digest)
        NEUTRALISED[name](ready.rootfs, outside)

    assert snapshot(tmp_path, skip=store.root) == before
    assert leftovers(store) == []


def test_messages_say_what_a_hostile_layer_tried(store: ImageStore, tmp_path: Path) -> None:
    # Aimed at a victim of the test's own, never at the host's files: should the unpacker
    # ever follow the link (a regression, a mutation check), it damages only the temp dir.
    victim = tmp_path / "victim"
    victim.mkdir()
    layout = tmp_path / "layout"
    through = write_layout(
        layout, [layer(symlink("out", str(victim)), file("out/passwd", b"x"))], name="a"
    )
    dotdot = write_layout(layout, [layer(file("../../victim/passwd", b"x"))], name="b")

    with pytest.raises(HostileLayer, match=r"goes through /out, which is a link"):
        store.ensure(layout, through)
    with pytest.raises(
        HostileLayer, match=r"leaves the root with '\.\.': '\.\./\.\./victim/passwd'"
    ):
        store.ensure(layout, dotdot)
    assert list(victim.iterdir()) == []


def test_a_session_uid_cannot_write_into_an_image(store: ImageStore, tmp_path: Path) -> None:
    """Even bound read-write, the session's uid can change nothing: all is root's, no g/o write."""
    tars = [
        layer(
            directory("tmp", mode=0o1777),
            directory("shared", mode=0o777),
            file("world", b"w", mode=0o666),
            file("bin/su", b"s", mode=0o4777),
        )
    ]
    ready = store.ensure(tmp_path / "layout", write_layout(tmp_path / "layout", tars))
    for entry in [ready.rootfs, *ready.rootfs.rglob("*")]:
        info = entry.lstat()
        assert (info.st_uid, info.st_gid) == (0, 0)
        assert info.st_mode & (stat.S_IWGRP | stat.S_IWOTH | stat.S_ISUID | stat.S_ISGID) == 0
    attempts = "; ".join(
        f"{command} 2>/dev/null && echo WROTE {command!r}"
        for command in (
            "echo x > /mnt/image/world",
            "echo x > /mnt/image/new",
            "touch /mnt/image/tmp/new",
            "mkdir /mnt/image/shared/new",
            "rm /mnt/image/bin/su",
            "chmod 777 /mnt/image/world",
        )
    )
    done = subprocess.run(
        [
            "bwrap",
            "--ro-bind",
            "/",
            "/",
            "--tmpfs",
            "/mnt",
            "--bind",
            str(ready.rootfs),
            "/mnt/image",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--unshare-pid",
            "--",
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/bin/sh",
            "-c",
            attempts + "; echo END",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.stdout == "END\n", done.stdout + done.stderr
    assert (ready.rootfs / "world").read_bytes() == b"w"


# -- damaged and malformed images --------------------------------------------------------


def _blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.removeprefix("sha256:")


def _manifest(layout: Path, digest: str) -> dict[str, object]:
    document: dict[str, object] = json.loads(_blob(layout, digest).read_bytes())
    return document


def _republish(layout: Path, manifest: dict[str, object]) -> str:
    return put_blob(layout, json.dumps(manifest).encode())


def test_a_blob_that_does_not_match_its_digest_is_refused(
    store: ImageStore, tmp_path: Path
) -> None:
    layout = tmp_path / "layout"
    digest = write_layout(layout, GOOD, compression="none")
    manifest = _manifest(layout, digest)
    layers: list[dict[str, object]] = manifest["layers"]  # type: ignore[assignment]
    blob = _blob(layout, str(layers[1]["digest"]))
    data = bytearray(blob.read_bytes())
    data[600] ^= 1  # inside the second entry's data: the tar still reads
    blob.write_bytes(bytes(data))

    with pytest.raises(BlobMismatch, match=r"layer sha256:\w+ does not match its digest"):
        store.ensure(layout, digest)
    assert (store.images(), leftovers(store)) == ([], [])


def test_a_blob_longer_than_declared_is_refused(store: ImageStore, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    manifest = _manifest(layout, write_layout(layout, GOOD))
    layers: list[dict[str, object]] = manifest["layers"]  # type: ignore[assignment]
    layers[0]["size"] = int(str(layers[0]["size"])) - 1

    with pytest.raises(BlobMismatch, match=r"longer than the \d+ bytes it declares"):
        store.ensure(layout, _republish(layout, manifest))
    assert (store.images(), leftovers(store)) == ([], [])


def test_a_layer_that_does_not_match_its_diff_id_is_refused(
    store: ImageStore, tmp_path: Path
) -> None:
    layout = tmp_path / "layout"
    manifest = _manifest(layout, write_layout(layout, GOOD))
    config_ref: dict[str, object] = manifest["config"]  # type: ignore[assignment]
    config = json.loads(_blob(layout, str(config_ref["digest"])).read_bytes())
    config["rootfs"]["diff_ids"][2] = "sha256:" + "0" * 64
    config_blob = json.dumps(config).encode()
    config_ref.update(digest=put_blob(layout, config_blob), size=len(config_blob))

    with pytest.raises(BlobMismatch, match=r"the tar of layer sha256:\w+ does not match"):
        store.ensure(layout, _republish(layout, manifest))
    assert (store.images(), leftovers(store)) == ([], [])


def test_a_manifest_that_does_not_match_its_digest_is_refused(
    store: ImageStore, tmp_path: Path
) -> None:
    layout = tmp_path / "layout"
    digest = write_layout(layout, GOOD)
    _blob(layout, digest).write_bytes(
        _blob(layout, digest).read_bytes().replace(b"+gzip", b"+zstd")
    )

    with pytest.raises(BlobMismatch, match=f"blob {digest} does not match its digest"):
        store.ensure(layout, digest)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("no oci-layout", r"is not an OCI image layout: no oci-layout"),
        ("unknown layer type", r"has a layer of unknown media type 'application/x-rar'"),
        ("missing layer blob", r"blob sha256:\w+ is missing from"),
        ("not gzip", r"is not a valid gzip tar"),
        ("not a digest", r"not a sha256 or sha512 digest: 'md5:1234'"),
        ("fewer diff_ids", r"lists 3 layers, its config 2"),
    ],
)
def test_a_malformed_image_is_refused_with_a_clear_error(
    store: ImageStore, tmp_path: Path, damage: str, message: str
) -> None:
    layout = tmp_path / "layout"
    digest = write_layout(layout, GOOD)
    manifest = _manifest(layout, digest)
    layers: list[dict[str, object]] = manifest["layers"]  # type: ignore[assignment]
    if damage == "no oci-layout":
        (layout / "oci-layout").unlink()
    elif damage == "unknown layer type":
        layers[0]["mediaType"] = "application/x-rar"
    elif damage == "missing layer blob":
        _blob(layout, str(layers[2]["digest"])).unlink()
    elif damage == "not gzip":
        bogus = b"this is not gzip at all"
        layers[0].update(digest=put_blob(layout, bogus), size=len(bogus))
    elif damage == "not a digest":
        layers[0]["digest"] = "md5:1234"
    elif damage == "fewer diff_ids":
        config_ref: dict[str, object] = manifest["config"]  # type: ignore[assignment]
        config = json.loads(_blob(layout, str(config_ref["digest"])).read_bytes())
        del config["rootfs"]["diff_ids"][0]
        blob = json.dumps(config).encode()
        config_ref.update(digest=put_blob(layout, blob), size=len(blob))
    digest = _republish(layout, manifest)

    with pytest.raises(MalformedImage, match=message):
        store.ensure(layout, digest)
    assert (store.images(), leftovers(store)) == ([], [])


def test_an_index_resolves_to_this_platform(store: ImageStore, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    manifest = write_layout(layout, GOOD)
    size = len(_blob(layout, manifest).read_bytes())
    arch = {"x86_64": "amd64", "aarch64": "arm64"}[os.uname().machine]
    entries = [
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:" + "1" * 64,
            "size": 10,
            "platform": {"os": "linux", "architecture": "s390x"},
        },
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest,
            "size": size,
            "platform": {"os": "linux", "architecture": arch},
        },
    ]
    index = put_blob(
        layout,
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": entries,
            }
        ).encode(),
    )

    ready = store.ensure(layout, index)
    assert tree(ready.rootfs) == EXPECTED
    assert json.loads((ready.rootfs.parent / "image.json").read_text())["manifest"] == manifest


# -- the cache: once, atomically, shared -------------------------------------------------


def test_concurrent_requests_unpack_an_image_once(store: ImageStore, tmp_path: Path) -> None:
    digest = write_layout(tmp_path / "layout", GOOD)
    start = threading.Barrier(6)
    results = []

    def ask() -> None:
        start.wait()
        results.append(store.ensure(tmp_path / "layout", digest))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(result.unpacked for result in results) == [False] * 5 + [True]
    assert {result.rootfs for result in results} == {store.images()[0].rootfs}
    assert leftovers(store) == []


CRASH = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from shipyard.agent.images import ImageStore

    def die(done: int, total: int) -> None:
        if done > total // 2:
            os.kill(os.getpid(), signal.SIGKILL)

    store = ImageStore(Path(sys.argv[1]), budget=1 << 30)
    store.ensure(Path(sys.argv[2]), sys.argv[3], progress=die)
    """
)


def test_a_crash_mid_unpack_leaves_no_image_that_looks_complete(
    store: ImageStore, tmp_path: Path
) -> None:
    layers = [layer(file(f"f{n}", os.urandom(64 << 10))) for n in range(4)]
    digest = write_layout(tmp_path / "layout", layers)
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH, str(store.root), str(tmp_path / "layout"), digest],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert crashed.returncode == -9, crashed.stderr
    assert store.images() == []
    assert len(leftovers(store)) == 1  # the half-made unpack, out of sight

    ready = store.ensure(tmp_path / "layout", digest)
    assert ready.unpacked
    assert leftovers(store) == []
    assert sorted(tree(ready.rootfs)) == ["/f0", "/f1", "/f2", "/f3"]


def test_collect_removes_what_crashed_unpacks_left(store: ImageStore, tmp_path: Path) -> None:
    stale = store.root / "tmp" / f"sha256-{'a' * 64}.crashed"
    (stale / "rootfs").mkdir(parents=True)
    (store.root / "tmp" / "trash.old").mkdir()

    assert store.collect() == []
    assert leftovers(store) == []


# -- holds and garbage collection --------------------------------------------------------


def _images(tmp_path: Path, count: int) -> list[str]:
    """`count` images of about 256 KiB each, in one layout."""
    return [
        write_layout(
            tmp_path / "layout", [layer(file("data", os.urandom(256 << 10)))], name=f"i{n}"
        )
        for n in range(count)
    ]


def test_collect_keeps_the_store_under_budget_and_never_removes_an_image_in_use(
    tmp_path: Path,
) -> None:
    store = ImageStore(tmp_path / "store", budget=600 << 10)
    digests = _images(tmp_path, 5)
    sessions = [os.urandom(16).hex() for _ in digests]
    for session, digest in zip(sessions, digests, strict=True):
        store.hold(session, digest)
        store.ensure(tmp_path / "layout", digest)
    store.release(sessions[1])  # 1 and 2 no longer in use; 2 was used later than 1
    store.release(sessions[2])
    store.release(sessions[4])
    store.ensure(tmp_path / "layout", digests[1])  # 1 used again: 2 is now the LRU unused
    store.release(sessions[3])
    store.hold(sessions[0], digests[0])  # the oldest stays in use

    removed = store.collect()

    assert [str(digest) for digest in removed] == [digests[2], digests[4], digests[1]]
    left = {str(image.digest): image for image in store.images()}
    assert set(left) == {digests[0], digests[3]}
    assert left[digests[0]].holders == (sessions[0],)
    assert store.usage() <= store.budget
    assert (left[digests[0]].rootfs / "data").stat().st_size == 256 << 10


def test_images_in_use_stay_even_over_budget(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store", budget=1)
    digests = _images(tmp_path, 3)
    holders = {os.urandom(16).hex(): digest for digest in digests[:2]}
    for session, digest in holders.items():
        store.hold(session, digest)  # before ensure: a collect in between spares it
        assert store.collect() == []
        store.ensure(tmp_path / "layout", digest)
    store.ensure(tmp_path / "layout", digests[2])

    assert [str(digest) for digest in store.collect()] == [digests[2]]
    assert sorted(str(image.digest) for image in store.images()) == sorted(digests[:2])
    assert store.usage() > store.budget  # over budget, and both images still there

    store.retain([next(iter(holders))])  # the other session's record is gone
    assert [str(digest) for digest in store.collect()] == [digests[1]]
    assert [str(image.digest) for image in store.images()] == [digests[0]]


def test_a_hold_needs_a_session_id(store: ImageStore) -> None:
    digest = Digest.parse("sha256:" + "a" * 64)
    for bad in ("../../etc/passwd", "", ".hidden", "a/b", "x" * 200):
        with pytest.raises(UnknownHolder):
            store.hold(bad, digest)
    assert list((store.root / "holds").iterdir()) == []
    store.release("never-held")  # releasing what was never held is harmless


def test_store_directory_is_private(store: ImageStore) -> None:
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
