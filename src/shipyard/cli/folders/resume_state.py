"""Unfinished uploads the CLI can resume: `$XDG_STATE_HOME/shipyard/uploads.json` (0600).

An entry maps one local file, as it was (size, mtime), going to one place in one folder on one
manager, to the server's upload URL. Every change re-reads the file under an exclusive lock
and replaces it atomically, so concurrent `shipyard folder upload` runs do not lose entries.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# The server forgets unfinished uploads after a day by default; older entries are noise.
KEEP_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True)
class UploadKey:
    endpoint: str
    folder_id: str
    remote_path: str
    local_path: str
    size: int
    mtime_ns: int

    def same_target(self, other: UploadKey) -> bool:
        """The same local file to the same place, whatever its size and mtime."""
        return (self.endpoint, self.folder_id, self.remote_path, self.local_path) == (
            other.endpoint,
            other.folder_id,
            other.remote_path,
            other.local_path,
        )


def default_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "shipyard" / "uploads.json"


Entries = list[dict[str, Any]]


class ResumeState:
    """The state file; every method reads it afresh (other runs may have changed it)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

    def url_for(self, key: UploadKey) -> str | None:
        for entry in self._read():
            if _key_of(entry) == key:
                return str(entry["url"])
        return None

    def remember(self, key: UploadKey, url: str) -> None:
        def change(entries: Entries) -> Entries:
            kept = [e for e in entries if _key_of(e) != key]
            return [*kept, {**asdict(key), "url": url, "saved_at": time.time()}]

        self._update(change)

    def forget(self, key: UploadKey) -> None:
        self._update(lambda entries: [e for e in entries if _key_of(e) != key])

    def outdated(self, key: UploadKey) -> list[tuple[UploadKey, str]]:
        """Entries for the same target from an earlier version of the local file."""
        found = []
        for entry in self._read():
            other = _key_of(entry)
            if other is not None and other != key and other.same_target(key):
                found.append((other, str(entry["url"])))
        return found

    def _read(self) -> Entries:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        entries = data.get("uploads") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            return []
        horizon = time.time() - KEEP_SECONDS
        return [e for e in entries if _key_of(e) is not None and _saved_at(e) >= horizon]

    def _update(self, change: Callable[[Entries], Entries]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _locked(self.path.with_name(self.path.name + ".lock")):
            _write_atomically(self.path, {"version": 1, "uploads": change(self._read())})


def _key_of(entry: Any) -> UploadKey | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
        return None
    try:
        return UploadKey(
            endpoint=str(entry["endpoint"]),
            folder_id=str(entry["folder_id"]),
            remote_path=str(entry["remote_path"]),
            local_path=str(entry["local_path"]),
            size=int(entry["size"]),
            mtime_ns=int(entry["mtime_ns"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _saved_at(entry: dict[str, Any]) -> float:
    value = entry.get("saved_at")
    return float(value) if isinstance(value, int | float) else 0.0


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _write_atomically(path: Path, data: dict[str, Any]) -> None:
    descriptor, temp = tempfile.mkstemp(dir=path.parent, prefix=".uploads-", suffix=".json")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)  # mkstemp made it 0600
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
