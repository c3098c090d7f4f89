"""A session's scratch space: a tmpfs of a fixed size, owned by the session's user (DESIGN §5).

It is the session's /home/work, or its /tmp when the owner's home is mounted at /home/work
(shipyard.agent.sandbox). It can fill neither the host's disk nor more than its size, and
its pages count against the session's memory. The supervisor mounts it over the session directory's
home/ before the sandbox starts and detaches it at the end (its contents go with it); the
agent detaches it too when it removes a session whose supervisor vanished.
Standard library only: the supervisor imports it.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

_MNT_DETACH = 2
_MS_NOSUID = 2
_MS_NODEV = 4


def mount(path: Path, *, size: int, uid: int | None, gid: int | None, mode: int = 0o755) -> None:
    """Mount the tmpfs at `path`; raises OSError."""
    options = f"size={size},mode={mode:o},uid={uid or 0},gid={gid or 0}"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"tmpfs", bytes(path), b"tmpfs", _MS_NOSUID | _MS_NODEV, options.encode()):
        error = ctypes.get_errno()
        raise OSError(error, f"cannot mount the session's home: {os.strerror(error)}")


def unmount(path: Path) -> None:
    """Detach the tmpfs at `path`; nothing when none is mounted there."""
    if os.path.ismount(path):
        ctypes.CDLL(None, use_errno=True).umount2(bytes(path), _MNT_DETACH)
