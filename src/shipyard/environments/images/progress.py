"""Progress reports and the one way the image sources run their tools.

Every operation takes an `OnProgress` callback so a background task can show live
progress: each line a tool prints, and bytes done/total where they are known.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

TAIL_LINES = 40
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Progress:
    """One report: a line of a tool's output, or bytes done of total (None when unknown)."""

    line: str | None = None
    done: int | None = None
    total: int | None = None


OnProgress = Callable[[Progress], None]


def ignore_progress(_progress: Progress) -> None:
    """An `OnProgress` for callers that show nothing."""


@dataclass(frozen=True)
class ToolRun:
    """How a tool ended: its exit status and the last lines it printed."""

    returncode: int
    tail: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def text(self) -> str:
        return "\n".join(self.tail)


def run_tool(
    argv: Sequence[str],
    *,
    on_progress: OnProgress,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ToolRun:
    """Run a tool with stdout and stderr merged, passing each line on as it comes.

    Arguments are a list (never a shell line); secrets never go on it, since any local
    user can read a command line in `ps`.
    """
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    with subprocess.Popen(  # noqa: S603 - argv built by this package, no shell
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        text=True,
        errors="replace",
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip()
            if line:
                tail.append(line)
                on_progress(Progress(line=line))
        returncode = process.wait()
    return ToolRun(returncode=returncode, tail=tuple(tail))


def tree_size(path: Path) -> int:
    """Bytes in the regular files under `path` (files that vanish meanwhile count 0)."""
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except FileNotFoundError:
                continue
    return total


@contextmanager
def watch_bytes(path: Path, *, total: int | None, on_progress: OnProgress) -> Iterator[None]:
    """While the block runs, report the bytes written under `path`; once more at its end."""
    stop = threading.Event()
    last = [-1]

    def report() -> None:
        done = tree_size(path)
        if done != last[0]:
            last[0] = done
            on_progress(Progress(done=min(done, total) if total else done, total=total))

    def poll() -> None:
        while not stop.wait(POLL_SECONDS):
            report()

    watcher = threading.Thread(target=poll, name="image-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
        report()
