"""The agent's image store: unpacked root filesystems by digest, shared, held and collected.

On disk, under the store's root (the agent's `<data dir>/images`, mode 0700):

    <algorithm>/<hex>/rootfs/      the unpacked root filesystem, read-only to sessions
    <algorithm>/<hex>/image.json   its record: manifest, bytes on disk, entries, dropped entries
    <algorithm>/<hex>/config.json  the image's config document (command, environment, labels)
    <algorithm>/<hex>/used         its modification time is the image's last use
    holds/<session id>             the digest that session holds (one image per session)
    locks/<algorithm>-<hex>        locked while that image is being unpacked
    locks/refs                     locked while a hold is written or an image chosen for removal
    tmp/                           unpacks in progress and removals: nothing here is complete

An image directory only ever appears by renaming a finished unpack into place, and only
ever disappears by renaming it into tmp/ first, so a crash leaves no half image that looks
complete; tmp/ leftovers are removed by the next unpack of that image or the next collect.
Locks are flock(2) locks, so they hold between threads and between processes alike.

Contract for callers (the runtime): `hold(session, digest)` BEFORE `ensure(layout, digest)`,
and `release(session)` when the session's record is removed; between the two, `collect()`
never removes that image. `ensure` without a hold guarantees nothing past its return.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipyard.agent.images.blobs import Digest
from shipyard.agent.images.errors import MalformedImage, UnknownHolder
from shipyard.agent.images.layout import open_image
from shipyard.agent.images.unpack import Limits, UnpackProgress, unpack_image

_HOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_ALGORITHMS = ("sha256", "sha512")


@dataclass(frozen=True)
class Ensured:
    """An image ready to run: its root filesystem, its config, and whether this call unpacked it."""

    digest: Digest
    rootfs: Path
    config: Mapping[str, Any]
    unpacked: bool


@dataclass(frozen=True)
class StoredImage:
    """An unpacked image in the store: its bytes on disk, last use and the sessions holding it."""

    digest: Digest
    rootfs: Path
    size: int
    last_used: datetime
    holders: tuple[str, ...]


class ImageStore:
    """Unpacks images once, shares them read-only, and keeps the store under `budget` bytes."""

    def __init__(self, root: Path, *, budget: int, limits: Limits | None = None) -> None:
        self.root = root
        self.budget = budget
        self.limits = limits or Limits()
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name in (*_ALGORITHMS, "holds", "locks", "tmp"):
            (root / name).mkdir(exist_ok=True, mode=0o700)

    def ensure(
        self, layout: Path, digest: Digest | str, *, progress: UnpackProgress | None = None
    ) -> Ensured:
        """The image `digest` of the OCI layout `layout`, unpacked (once) if not yet stored.

        Concurrent calls for one image unpack it once: the others wait for it and find it
        stored. Raises an ImageError (MalformedImage, BlobMismatch, HostileLayer) and leaves
        nothing behind when the image cannot be unpacked safely.
        """
        digest = _digest(digest)
        if (found := self._stored(digest)) is not None:
            return found
        with _locked(self._lock_path(digest)):
            if (found := self._stored(digest)) is not None:
                return found
            self._remove_leftovers(digest)
            return self._unpack(layout, digest, progress)

    def hold(self, session_id: str, digest: Digest | str) -> None:
        """Record that `session_id` uses the image: `collect` will not remove it until released."""
        path = self._hold_path(session_id)
        digest = _digest(digest)
        with _locked(self.root / "locks" / "refs"):
            _write_atomic(path, f"{digest}\n".encode())
        self._touch(digest)

    def release(self, session_id: str) -> None:
        """Drop the session's hold (if any); the image's last use becomes now."""
        path = self._hold_path(session_id)
        with contextlib.suppress(FileNotFoundError, MalformedImage):
            self._touch(_digest(path.read_text(encoding="utf-8").strip()))
        path.unlink(missing_ok=True)

    def retain(self, session_ids: Iterable[str]) -> None:
        """Release every hold except those of `session_ids` (the sessions this node still has)."""
        keep = set(session_ids)
        for path in (self.root / "holds").iterdir():
            if path.name not in keep and not path.name.startswith("."):
                self.release(path.name)

    def images(self) -> list[StoredImage]:
        """Every image in the store, least recently used first."""
        holders = self._holders()
        found = []
        for algorithm in _ALGORITHMS:
            for entry in (self.root / algorithm).iterdir():
                with contextlib.suppress(FileNotFoundError, ValueError, MalformedImage):
                    digest = Digest.parse(f"{algorithm}:{entry.name}")
                    record = json.loads((entry / "image.json").read_text(encoding="utf-8"))
                    used = (entry / "used").stat().st_mtime
                    found.append(
                        StoredImage(
                            digest=digest,
                            rootfs=entry / "rootfs",
                            size=int(record["size"]),
                            last_used=datetime.fromtimestamp(used, tz=UTC),
                            holders=tuple(sorted(holders.get(digest, ()))),
                        )
                    )
        return sorted(found, key=lambda image: image.last_used)

    def usage(self) -> int:
        """Bytes on disk of every stored image."""
        return sum(image.size for image in self.images())

    def collect(self) -> list[Digest]:
        """Remove least recently used images no session holds until the store fits its budget.

        Returns what was removed. Images in use are never removed, even when the store
        stays over budget because of them. Leftovers of crashed unpacks go too.
        """
        removed = []
        with _locked(self.root / "locks" / "collect"):
            self._remove_leftovers(None)
            images = self.images()
            total = sum(image.size for image in images)
            for image in images:
                if total <= self.budget:
                    break
                if self._discard(image.digest):
                    total -= image.size
                    removed.append(image.digest)
        return removed

    def _discard(self, digest: Digest) -> bool:
        """Move an image that no one holds out of sight, then delete it; False if it is held."""
        with _locked(self.root / "locks" / "refs"):
            if digest in self._holders():
                return False
            trash = Path(tempfile.mkdtemp(prefix="trash.", dir=self.root / "tmp"))
            os.rename(self._dir(digest), trash / "image")
        shutil.rmtree(trash)
        return True

    def _unpack(self, layout: Path, digest: Digest, progress: UnpackProgress | None) -> Ensured:
        image = open_image(layout, digest)
        work = Path(tempfile.mkdtemp(prefix=f"{_key(digest)}.", dir=self.root / "tmp"))
        try:
            rootfs = work / "rootfs"
            rootfs.mkdir()
            unpacked = unpack_image(image, rootfs, limits=self.limits, progress=progress)
            os.chmod(rootfs, 0o755)  # noqa: S103 - read by sessions, written by none
            (work / "config.json").write_text(json.dumps(image.config), encoding="utf-8")
            record = {
                "digest": str(digest),
                "manifest": str(image.digest),
                "size": disk_usage(work),
                "entries": unpacked.entries,
                "dropped": unpacked.dropped_paths,
                "unpacked_at": datetime.now(UTC).isoformat(),
            }
            (work / "image.json").write_text(json.dumps(record), encoding="utf-8")
            (work / "used").touch()
            os.sync()  # what the rename publishes must be on disk first (power loss)
            os.rename(work, self._dir(digest))
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return Ensured(digest, self._dir(digest) / "rootfs", image.config, unpacked=True)

    def _stored(self, digest: Digest) -> Ensured | None:
        home = self._dir(digest)
        try:
            config = json.loads((home / "config.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        self._touch(digest)
        return Ensured(digest, home / "rootfs", config, unpacked=False)

    def _remove_leftovers(self, digest: Digest | None) -> None:
        """Remove what a crash left in tmp/: unpacks of `digest` (its lock held), or all."""
        for entry in (self.root / "tmp").iterdir():
            name = entry.name.partition(".")[0]
            if digest is not None:
                if name == _key(digest):
                    shutil.rmtree(entry, ignore_errors=True)
            elif name == "trash" or not self._unpacking(name):
                shutil.rmtree(entry, ignore_errors=True)

    def _unpacking(self, key: str) -> bool:
        """Whether an unpack (in any thread or process) holds the lock named `key`."""
        with _locked(self.root / "locks" / key, wait=False) as free:
            return not free

    def _holders(self) -> dict[Digest, list[str]]:
        holders: dict[Digest, list[str]] = {}
        for path in (self.root / "holds").iterdir():
            if path.name.startswith("."):
                continue  # a hold being written
            with contextlib.suppress(FileNotFoundError, MalformedImage):
                digest = _digest(path.read_text(encoding="utf-8").strip())
                holders.setdefault(digest, []).append(path.name)
        return holders

    def _touch(self, digest: Digest) -> None:
        with contextlib.suppress(FileNotFoundError):
            now = time.time_ns()
            os.utime(self._dir(digest) / "used", ns=(now, now))

    def _dir(self, digest: Digest) -> Path:
        return self.root / digest.algorithm / digest.hex

    def _lock_path(self, digest: Digest) -> Path:
        return self.root / "locks" / _key(digest)

    def _hold_path(self, session_id: str) -> Path:
        if not isinstance(session_id, str) or _HOLDER.fullmatch(session_id) is None:
            raise UnknownHolder(f"not a session id: {str(session_id)[:100]!r}")
        return self.root / "holds" / session_id


def disk_usage(path: Path) -> int:
    """Bytes of disk that the tree at `path` takes (each hard-linked file counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for directory, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            info = os.lstat(os.path.join(directory, name))
            if info.st_nlink > 1 and not stat.S_ISDIR(info.st_mode):
                if (info.st_dev, info.st_ino) in seen:
                    continue
                seen.add((info.st_dev, info.st_ino))
            total += info.st_blocks * 512
    return total


def _key(digest: Digest) -> str:
    """The digest as one file name (no colon)."""
    return f"{digest.algorithm}-{digest.hex}"


def _digest(value: Digest | str) -> Digest:
    return value if isinstance(value, Digest) else Digest.parse(value)


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.rename(temporary, path)


@contextlib.contextmanager
def _locked(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive flock on `path` (made if missing); without `wait`, yield False if busy."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
