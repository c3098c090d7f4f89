"""Whole directory trees inside folders, walked by descriptor: measured and removed.

Sessions change folders while the manager looks: a directory becomes a FIFO, or a link to
`/`, between two calls; trees nest deeper than any recursion limit. So each directory is
opened relative to its parent's descriptor with `DIR_FLAGS` (a link or a FIFO swapped in is
refused by the kernel: nothing is followed, nothing blocks), other entries are looked at
(lstat) or unlinked but never opened, and at most `MAX_DEPTH` directories are held open
however deep the tree goes.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import stat as st
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

DIR_FLAGS = (
    os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
)
#: Directories held open at once; deeper ones are not measured, and are moved up to be removed.
MAX_DEPTH = 128
#: How often a directory may be found refilled (by a session) while it is being removed.
REMOVE_ROUNDS = 20
# A directory that was swapped or removed under the walk: skipped, never an error.
_GONE = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)


@dataclass
class _Frame:
    fd: int
    name: str  # in the directory of the frame below, or the path relative to the top
    pending: list[str] | None = None  # subdirectories still to visit; None: not read yet


def _open_below(parent: int, name: str) -> int | None:
    """The directory `name` under `parent`; None when it is gone or no longer a directory."""
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent)
    except OSError as error:
        if error.errno in _GONE:
            return None
        raise


def _close_all(stack: list[_Frame]) -> None:
    for frame in stack:
        os.close(frame.fd)


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Usage:
    """What one walk found: bytes in regular files, and the entries whose name starts with
    the hidden prefix as (directory relative to the top, name, mtime), counted apart."""

    bytes: int = 0
    hidden: list[tuple[str, str, float]] = field(default_factory=list)
    too_deep: int = 0  # directories below MAX_DEPTH, not measured


def measure(path: Path, *, hidden_prefix: str) -> Usage:
    """Walk the tree at `path` (the folder's own directory, trusted) without following links."""
    found = Usage()
    stack = [_Frame(os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), ".")]
    try:
        while stack:
            frame = stack[-1]
            if frame.pending is None:
                frame.pending = _count(frame, found, hidden_prefix)
            if not frame.pending:
                os.close(stack.pop().fd)
                continue
            name = frame.pending.pop()
            if len(stack) >= MAX_DEPTH:
                found.too_deep += 1
                continue
            child = _open_below(frame.fd, name)
            if child is not None:
                stack.append(_Frame(child, os.path.normpath(os.path.join(frame.name, name))))
    finally:
        _close_all(stack)
    if found.too_deep:
        log.warning("%s: %d directories nested too deep were not measured", path, found.too_deep)
    return found


def _count(frame: _Frame, found: Usage, hidden_prefix: str) -> list[str]:
    """Add up one directory's regular files; its subdirectories' names."""
    subdirs = []
    with os.scandir(frame.fd) as entries:
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if st.S_ISDIR(info.st_mode):
                subdirs.append(entry.name)
            elif entry.name.startswith(hidden_prefix):
                found.hidden.append((frame.name, entry.name, info.st_mtime))
            elif st.S_ISREG(info.st_mode):
                found.bytes += info.st_size
    return subdirs


# --- removing -----------------------------------------------------------------------------


def remove(parent: int, name: str) -> bool:
    """Remove the directory `name` under the directory `parent` and everything in it.

    Entries are unlinked, never opened; directories nested deeper than `MAX_DEPTH` are
    first moved up next to the top's entries. False when the tree was refilled more than
    `REMOVE_ROUNDS` times meanwhile (what is gone stays gone); a `name` that is no longer a
    directory is unlinked as it is.
    """
    top = _open_below(parent, name)
    if top is None:
        _unlink_quietly(parent, name)
        return True
    stack = [_Frame(top, name)]
    rounds = 0
    try:
        while stack:
            frame = stack[-1]
            if frame.pending is None:
                frame.pending = _clear(frame.fd)
            if frame.pending:
                _descend(stack, frame.pending.pop())
                continue
            stack.pop()
            os.close(frame.fd)
            below = stack[-1].fd if stack else parent
            if not _rmdir(below, frame.name):
                rounds += 1
                if rounds > REMOVE_ROUNDS:
                    return False
                again = _open_below(below, frame.name)
                if again is not None:
                    stack.append(_Frame(again, frame.name))
    finally:
        _close_all(stack)
    return True


def _descend(stack: list[_Frame], name: str) -> None:
    """Go into the subdirectory `name` of the top frame, or, too deep, move it up to the top."""
    frame = stack[-1]
    if len(stack) < MAX_DEPTH:
        child = _open_below(frame.fd, name)
        if child is not None:
            stack.append(_Frame(child, name))
        return
    moved = f".shipyard-removing-{secrets.token_hex(8)}"
    try:
        os.rename(name, moved, src_dir_fd=frame.fd, dst_dir_fd=stack[0].fd)
    except OSError as error:
        if error.errno in _GONE:
            return
        raise
    pending = stack[0].pending
    assert pending is not None  # the top was read before anything below it
    pending.append(moved)


def _clear(fd: int) -> list[str]:
    """Unlink every entry of the directory but its subdirectories, whose names it returns."""
    subdirs = []
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.name)
            elif not _unlink_quietly(fd, entry.name):
                subdirs.append(entry.name)  # became a directory meanwhile
    return subdirs


def _unlink_quietly(fd: int, name: str) -> bool:
    """Unlink a non-directory; False when `name` is a directory (now)."""
    try:
        os.unlink(name, dir_fd=fd)
    except FileNotFoundError:
        pass
    except IsADirectoryError:  # Linux's answer for a directory
        return False
    return True


def _rmdir(fd: int, name: str) -> bool:
    """Remove an emptied directory; False when something was put into it meanwhile."""
    try:
        os.rmdir(name, dir_fd=fd)
    except FileNotFoundError:
        pass
    except OSError as error:
        if error.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False
        if error.errno == errno.ENOTDIR:  # swapped for a file: it goes too
            _unlink_quietly(fd, name)
            return True
        raise
    return True


def remove_path(path: Path) -> bool:
    """`remove` for a directory given by its path (its parent is trusted)."""
    parent = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return remove(parent, path.name)
    finally:
        os.close(parent)
