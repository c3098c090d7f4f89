"""Linux inotify through ctypes: watches on directories, events read without blocking.

Only what `shipyard.agent.quota` needs: one instance, watches added by path (an agent's
`/proc/self/fd/N`, so the directory already opened is the one watched), events read in
batches. Standard library only.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import struct
from dataclasses import dataclass

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_EXCL_UNLINK = 0x04000000
IN_ISDIR = 0x40000000

#: what changes the space a directory's entries take
CHANGES = IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len
_BUFFER = 64 * 1024


@dataclass(frozen=True)
class Event:
    """One inotify event: the watch, what happened, and the entry's name (b"" for the
    directory itself)."""

    wd: int
    mask: int
    cookie: int
    name: bytes


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


class Inotify:
    """An inotify instance; close it when done (its watches go with it)."""

    def __init__(self) -> None:
        fd = _libc().inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            error = ctypes.get_errno()
            raise OSError(error, f"inotify: {os.strerror(error)}")
        self.fd: int = fd

    def fileno(self) -> int:
        return self.fd

    def add(self, path: str, mask: int) -> int:
        """Watch `path` for `mask`; its watch descriptor (the same for a watched inode).

        Raises OSError: ENOSPC when the user's watches are used up.
        """
        wd: int = _libc().inotify_add_watch(self.fd, os.fsencode(path), mask)
        if wd < 0:
            error = ctypes.get_errno()
            raise OSError(error, f"inotify watch on {path}: {os.strerror(error)}")
        return wd

    def remove(self, wd: int) -> None:
        """Stop a watch; one already gone (its directory deleted) is no error."""
        _libc().inotify_rm_watch(self.fd, wd)

    def read(self) -> list[Event]:
        """The events waiting now; [] when none."""
        try:
            data = os.read(self.fd, _BUFFER)
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return []
            raise
        return list(parse(data))

    def close(self) -> None:
        os.close(self.fd)


def parse(data: bytes) -> list[Event]:
    """The events packed in one read."""
    events = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        wd, mask, cookie, length = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        name = data[start : start + length].rstrip(b"\0")
        events.append(Event(wd=wd, mask=mask, cookie=cookie, name=name))
        offset = start + length
    return events
