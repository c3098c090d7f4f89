"""A folder's bytes on disk, measured once by a walk and kept current by inotify.

For `shipyard.agent.quota`. Bytes on disk are what `du` counts: every entry's st_blocks,
directories included (many small files take whole blocks; a sparse file only what it holds).

Sessions change folders while they are followed, and may be hostile. So every directory is
opened relative to its parent's descriptor without following links (as
`shipyard.storage.trees` does) and kept open, watched through that descriptor
(`/proc/self/fd/N`), and looked into only through it: a renamed directory, or one swapped for
a link, never makes an event count an entry elsewhere. Each event costs one lstat of the
entry it names; a directory renamed inside the folder keeps its watch (inotify gives the
same watch for the same inode). An entry's size is set, never added, so an event seen twice
(during the walk) counts once.

When descriptors or the user's inotify watches run out, the folder raises `Unwatchable`,
and the caller falls back to `measure`: a plain walk now and then.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.agent import inotify
from shipyard.agent.inotify import Event, Inotify

DIR_FLAGS = (
    os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
)
MASK = inotify.CHANGES | inotify.IN_ONLYDIR | inotify.IN_EXCL_UNLINK
_GONE = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)
_ADDED = inotify.IN_CREATE | inotify.IN_MOVED_TO
_REMOVED = inotify.IN_DELETE | inotify.IN_MOVED_FROM
_WRITTEN = inotify.IN_MODIFY | inotify.IN_CLOSE_WRITE


class Unwatchable(Exception):
    """The folder cannot be followed exactly: descriptors or inotify watches ran out."""


def on_disk(info: os.stat_result) -> int:
    return info.st_blocks * 512


@dataclass(eq=False)
class _Dir:
    fd: int
    wd: int
    parent: _Dir | None
    name: bytes
    own: int = 0  # the directory's own bytes
    files: dict[bytes, int] = field(default_factory=dict)  # every entry but subdirectories
    subdirs: dict[bytes, _Dir] = field(default_factory=dict)
    detached: int | None = None  # the batch it was moved or deleted out of its parent in


class Watches:
    """The agent's one inotify instance, which folder owns each watch, and how many more
    directories may be held open (the process's descriptors are shared with everything)."""

    def __init__(self, *, max_dirs: int) -> None:
        self.notify = Inotify()
        self.owner: dict[int, FolderUsage] = {}
        self.max_dirs = max_dirs
        self.open_dirs = 0

    def close(self) -> None:
        self.notify.close()


class FolderUsage:
    """The bytes a folder takes on disk, followed through `watches` once `walked`.

    The caller reads events from `watches.notify`, hands each to the folder owning its
    watch (`handle`), calls `end_batch` after each read, and `step` until `walked`.
    """

    def __init__(self, path: Path, *, watches: Watches) -> None:
        self.path = path
        self.used = 0
        self._watches = watches
        self._dirs: dict[int, _Dir] = {}
        self._pending: deque[_Dir] = deque()
        self._batch = 0
        self.root = self._attach(_open_root(path), parent=None, name=b"")

    @property
    def walked(self) -> bool:
        return not self._pending

    def step(self, count: int) -> None:
        """List up to `count` directories not yet walked."""
        for _ in range(min(count, len(self._pending))):
            directory = self._pending.popleft()
            if directory.wd in self._dirs:
                self._list(directory)

    def handle(self, event: Event) -> None:
        directory = self._dirs.get(event.wd)
        if directory is None:
            return
        if event.mask & inotify.IN_IGNORED:  # deleted, or its watch removed
            self._drop(directory, watched=False)
            return
        if not event.name:
            return
        if event.mask & _REMOVED:
            self._forget(directory, event.name)
        if event.mask & (_ADDED | _WRITTEN):
            self._look(directory, event.name)
        if event.mask & (_ADDED | _REMOVED):
            self._set_own(directory)

    def end_batch(self) -> None:
        """Drop the directories moved away or deleted before this batch and not back."""
        gone = [
            d for d in self._dirs.values() if d.detached is not None and d.detached < self._batch
        ]
        for directory in gone:
            if directory.wd in self._dirs:
                self._drop(directory, watched=True)
        self._batch += 1

    def close(self) -> None:
        if self.root.wd in self._dirs:
            self._drop(self.root, watched=True)
        for directory in list(self._dirs.values()):  # detached ones
            self._drop(directory, watched=True)

    # -- the tree ----------------------------------------------------------------------

    def _attach(self, fd: int, *, parent: _Dir | None, name: bytes) -> _Dir:
        """A directory opened (fd, now ours): watched, counted, and queued to be listed."""
        try:
            wd, info = self._watch(fd)
        except BaseException:
            os.close(fd)
            raise
        if wd in self._watches.owner:  # a directory renamed within the folder
            os.close(fd)
            return self._reattach(wd, parent=parent, name=name)
        directory = _Dir(fd=fd, wd=wd, parent=parent, name=name, own=on_disk(info))
        self._watches.open_dirs += 1
        self._watches.owner[wd] = self
        self._dirs[wd] = directory
        self.used += directory.own
        self._pending.append(directory)
        if parent is not None:
            parent.subdirs[name] = directory
        return directory

    def _watch(self, fd: int) -> tuple[int, os.stat_result]:
        if self._watches.open_dirs >= self._watches.max_dirs:
            raise Unwatchable(f"{self.path}: more than {self._watches.max_dirs} directories")
        try:
            wd = self._watches.notify.add(f"/proc/self/fd/{fd}", MASK)
        except OSError as error:
            raise Unwatchable(f"{self.path}: {error.strerror}") from None
        return wd, os.fstat(fd)

    def _reattach(self, wd: int, *, parent: _Dir | None, name: bytes) -> _Dir:
        directory = self._dirs.get(wd)
        if directory is None or parent is None:
            raise Unwatchable(f"{self.path}: a directory is followed twice (nested folders)")
        directory.parent, directory.name, directory.detached = parent, name, None
        parent.subdirs[name] = directory
        return directory

    def _list(self, directory: _Dir) -> None:
        try:
            with os.scandir(directory.fd) as entries:
                names = [os.fsencode(entry.name) for entry in entries]
        except OSError as error:
            if error.errno in _GONE:
                return
            raise
        for name in names:
            self._look(directory, name)

    def _look(self, directory: _Dir, name: bytes) -> None:
        """Count the entry `name` as it is now (one lstat), or forget it when it is gone."""
        try:
            info = os.stat(name, dir_fd=directory.fd, follow_symlinks=False)
        except OSError as error:
            if error.errno not in _GONE:
                raise
            self._forget(directory, name)
            return
        if stat.S_ISDIR(info.st_mode):
            if name not in directory.subdirs:
                self._set_file(directory, name, None)
                self._open_below(directory, name)
            return
        if name in directory.subdirs:
            self._forget(directory, name)
        self._set_file(directory, name, on_disk(info))

    def _open_below(self, directory: _Dir, name: bytes) -> None:
        try:
            fd = os.open(name, DIR_FLAGS, dir_fd=directory.fd)
        except OSError as error:
            if error.errno in _GONE:
                return  # gone again: its own event says what became of it
            if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOMEM):
                raise Unwatchable(f"{self.path}: {error.strerror}") from None
            raise
        self._attach(fd, parent=directory, name=name)

    def _forget(self, directory: _Dir, name: bytes) -> None:
        self._set_file(directory, name, None)
        child = directory.subdirs.pop(name, None)
        if child is not None:  # moved away (maybe back in elsewhere) or deleted
            child.detached = self._batch

    def _set_file(self, directory: _Dir, name: bytes, size: int | None) -> None:
        before = directory.files.pop(name, 0)
        if size is not None:
            directory.files[name] = size
        self.used += (size or 0) - before

    def _set_own(self, directory: _Dir) -> None:
        try:
            now = on_disk(os.fstat(directory.fd))
        except OSError:
            return
        self.used += now - directory.own
        directory.own = now

    def _drop(self, directory: _Dir, *, watched: bool) -> None:
        """Stop following a directory and everything below it; its bytes no longer count."""
        stack = [directory]
        while stack:
            current = stack.pop()
            stack.extend(current.subdirs.values())
            if self._dirs.pop(current.wd, None) is None:
                continue
            self.used -= current.own + sum(current.files.values())
            self._watches.owner.pop(current.wd, None)
            self._watches.open_dirs -= 1
            if watched or current is not directory:
                self._watches.notify.remove(current.wd)
            os.close(current.fd)
        if (
            directory.parent is not None
            and directory.parent.subdirs.get(directory.name) is directory
        ):
            del directory.parent.subdirs[directory.name]


def _open_root(path: Path) -> int:
    """The folder's own directory (its path is the manager's, trusted up to it)."""
    try:
        return os.open(path, DIR_FLAGS)
    except OSError as error:
        if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOMEM):
            raise Unwatchable(f"{path}: {error.strerror}") from None
        raise


def measure(path: Path) -> int:
    """The folder's bytes on disk by one walk, without following links, holding open only
    the directories on the way down (for folders that are `Unwatchable`)."""
    total = 0
    stack: list[tuple[int, list[str]]] = []
    fd: int | None = os.open(path, DIR_FLAGS)
    try:
        while fd is not None or stack:
            if fd is not None:
                subdirs, size = _entries(fd)
                total += size
                stack.append((fd, subdirs))
                fd = None
            top, pending = stack[-1]
            if not pending:
                os.close(stack.pop()[0])
                continue
            fd = _open_quietly(top, pending.pop())
    finally:
        for frame in stack:
            os.close(frame[0])
    return total


def _entries(fd: int) -> tuple[list[str], int]:
    """A directory's subdirectories, and the bytes of itself and every other entry."""
    subdirs, total = [], on_disk(os.fstat(fd))
    with os.scandir(fd) as entries:
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(info.st_mode):
                subdirs.append(entry.name)
            else:
                total += on_disk(info)
    return subdirs, total


def _open_quietly(parent: int, name: str) -> int | None:
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent)
    except OSError as error:
        if error.errno in _GONE:
            return None
        raise
