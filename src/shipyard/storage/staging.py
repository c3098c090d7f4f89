"""Upload staging: where a tus upload's bytes gather until the last one, out of sessions' sight.

Each storage host has one staging directory, `<host path>/.staging` (mode 0700, the
manager's own), beside the folders' directories and inside none of them. Beside: on the same
filesystem, so a finished upload enters its folder by one atomic link or rename
(`paths.publish`), never by a copy a reader could see half-done. Inside none: sessions see
only the folders bound into them, so no session can see, swap or replace a staged file (a
FIFO in its place would hang whoever writes to it). A staged file is named after its
upload's id: `upload-<id hex>`.

Older versions kept the temp file inside the folder (`paths.TEMP_PREFIX`); `is_legacy` tells
such an upload apart, and `storage.uploads` ends it instead of writing into a folder.
"""

from __future__ import annotations

import os
import re
import stat as st
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from shipyard.storage.paths import SAFE_FLAGS, TEMP_PREFIX

DIRECTORY = ".staging"
_NAME = re.compile(r"upload-[0-9a-f]{32}")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | SAFE_FLAGS
_APPEND_FLAGS = os.O_WRONLY | SAFE_FLAGS


def name_for(upload_id: uuid.UUID) -> str:
    return f"upload-{upload_id.hex}"


def is_legacy(temp_name: str) -> bool:
    """Whether an upload's temp file is one an older version kept inside the folder."""
    return temp_name.startswith(TEMP_PREFIX)


def _checked(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a staged upload's name: {name!r}")
    return name


@contextmanager
def opened(path: Path) -> Iterator[int]:
    """A descriptor of the staging directory `path`, made (0700) when missing."""
    path.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(path, _DIR_FLAGS)
    try:
        yield fd
    finally:
        os.close(fd)


def same_filesystem(path: Path, folder_dir: Path) -> bool:
    """Whether files staged at `path` can be renamed into `folder_dir`."""
    path.mkdir(mode=0o700, exist_ok=True)
    return path.stat().st_dev == folder_dir.stat().st_dev


def create(path: Path, name: str, *, owner: tuple[int, int] | None) -> int:
    """A new empty staged file, open for writing (the caller closes it), owned by `owner`."""
    with opened(path) as dir_fd:
        fd = os.open(_checked(name), _CREATE_FLAGS, 0o644, dir_fd=dir_fd)
    if owner is not None:
        os.fchown(fd, *owner)
    return fd


def open_append(path: Path, name: str) -> int:
    """The staged file opened for writing; FileNotFoundError when it is gone.

    Nothing but the manager writes here; the flags and the type check are defence in depth.
    """
    with opened(path) as dir_fd:
        fd = os.open(_checked(name), _APPEND_FLAGS, dir_fd=dir_fd)
    if not st.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise FileNotFoundError(name)
    os.set_blocking(fd, True)
    return fd


def size(path: Path, name: str) -> int:
    """How many bytes are staged; FileNotFoundError when the file is gone."""
    with opened(path) as dir_fd:
        return os.stat(_checked(name), dir_fd=dir_fd, follow_symlinks=False).st_size


def discard(path: Path, name: str) -> None:
    """Delete a staged file; a missing one is fine."""
    with opened(path) as dir_fd, suppress(FileNotFoundError):
        os.unlink(_checked(name), dir_fd=dir_fd)


def sweep(path: Path, *, keep: set[str], older_than: float) -> list[str]:
    """Delete staged files that no upload owns (not in `keep`) and that were last changed
    more than `older_than` seconds ago (younger ones may belong to an upload being created);
    the names removed."""
    if not path.is_dir():
        return []
    cutoff = time.time() - older_than
    removed = []
    with opened(path) as dir_fd, os.scandir(dir_fd) as entries:
        for entry in entries:
            if entry.name in keep:
                continue
            with suppress(FileNotFoundError, IsADirectoryError):
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(entry.name, dir_fd=dir_fd)
                    removed.append(entry.name)
    return removed
