"""What /proc tells about processes: a session's supervisor, its descendants, their binaries."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Protocol

from shipyard.agent.runtime.state import SUPERVISOR_MODULE


class ProcessTree(Protocol):
    """A session's processes: its cgroups' members, or (without cgroups) descendants."""

    def pids(self) -> set[int]: ...

    def kill(self, *, timeout: float = 5.0) -> bool: ...


class Descendants:
    """The supervisor's descendants, found through /proc; what is left without cgroups.

    A process that double-forks out of the tree escapes it; the sandbox's PID namespace
    still ends with bwrap, which is in the tree.
    """

    def __init__(self, root: int | None) -> None:
        self.root = root

    def pids(self) -> set[int]:
        if self.root is None:
            return set()
        children: dict[int, list[int]] = {}
        for pid, ppid in parents().items():
            children.setdefault(ppid, []).append(pid)
        found: set[int] = set()
        todo = list(children.get(self.root, []))
        while todo:
            pid = todo.pop()
            found.add(pid)
            todo += children.get(pid, [])
        return found

    def signal(self, signum: int, *, skip: frozenset[int] = frozenset()) -> None:
        for pid in self.pids() - skip:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def kill(self, *, timeout: float = 5.0) -> bool:
        """SIGKILL every descendant, repeating until none is left; False if some survive."""
        deadline = time.monotonic() + timeout
        while self.pids():
            if time.monotonic() > deadline:
                return False
            self.signal(signal.SIGKILL)
            time.sleep(0.005)
        return True


def parents() -> dict[int, int]:
    """pid -> parent pid of every process."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
    return parents


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def is_supervisor(pid: int, session_id: str) -> bool:
    """Whether `pid` is this session's supervisor (and not a process that reused the pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            args = cmdline.read().decode(errors="replace").split("\0")
    except OSError:
        return False
    return SUPERVISOR_MODULE in args and any(Path(arg).name == session_id for arg in args)


def supervisors(session_id: str) -> list[int]:
    """Every live supervisor process of a session, found by scanning /proc."""
    return [pid for pid in parents() if is_supervisor(pid, session_id)]


def exe(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
