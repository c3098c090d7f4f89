"""Paths inside a root directory, handled by file descriptor and never through a link.

Every operation starts from the root's descriptor and opens one component at a time with
O_NOFOLLOW, so a symbolic link (or `..`) met on the way can never take a write outside the
root: such a path is refused. Links themselves are created as they are; only their targets
are never followed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Iterator

from shipyard.agent.images.errors import HostileLayer

#: a path inside the root as its components (never empty, ".", ".." or containing "/")
Parts = tuple[str, ...]
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_PATH = 4096
#: the deepest path an entry may have (each entry is walked component by component)
MAX_DEPTH = 256


def split(name: str) -> Parts:
    """A layer entry's name as components below the root; `..` anywhere is refused.

    Leading slashes and "." components are dropped, as tar does: "/etc/x", "./etc/x" and
    "etc//x" all name etc/x inside the root.
    """
    if len(name) > MAX_PATH or "\0" in name:
        raise HostileLayer(f"a layer entry has an impossible name: {name[:100]!r}")
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if ".." in parts:
        raise HostileLayer(f"a layer entry leaves the root with '..': {name[:200]!r}")
    if len(parts) > MAX_DEPTH:
        raise HostileLayer(f"a layer entry is more than {MAX_DEPTH} directories deep")
    return parts


def show(parts: Parts) -> str:
    return "/" + "/".join(parts)


def mode_at(dir_fd: int, name: str) -> int | None:
    """The st_mode of `name` in the directory (a link's own), or None when absent."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def opened_dir(
    root_fd: int, parts: Parts, *, create: bool, made: set[Parts] | None = None
) -> Iterator[int | None]:
    """The directory at `parts` (descriptor closed after), or None when absent and not `create`.

    With `create`, missing directories are made (mode 0755) and their paths added to `made`.
    A component that is a link or not a directory is refused with HostileLayer.
    """
    fd = os.dup(root_fd)
    try:
        for depth, name in enumerate(parts):
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    yield None
                    return
                os.mkdir(name, 0o755, dir_fd=fd)
                if made is not None:
                    made.add(parts[: depth + 1])
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                raise HostileLayer(
                    f"a layer entry goes through {show(parts[: depth + 1])}, which is a link "
                    "or not a directory"
                ) from None
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def remove(dir_fd: int, name: str) -> None:
    """Remove `name` from the directory, a whole tree if it is one (links are not followed)."""
    mode = mode_at(dir_fd, name)
    if mode is None:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


def prune(dir_fd: int, prefix: Parts, keep: set[Parts]) -> None:
    """Remove everything below the directory except the paths in `keep` (and their parents)."""
    for name in os.listdir(dir_fd):
        path = (*prefix, name)
        if path not in keep:
            remove(dir_fd, name)
            continue
        mode = mode_at(dir_fd, name)
        if mode is not None and stat.S_ISDIR(mode):
            child = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            try:
                prune(child, path, keep)
            finally:
                os.close(child)
