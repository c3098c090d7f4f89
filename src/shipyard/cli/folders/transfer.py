"""What uploads and downloads share: progress bars, retries with backoff, error replies.

TransferError                 a transfer failed for good; `message` is for the user
 └── UploadGone               the server no longer knows an upload (expired or terminated)
Transient                     worth another try from the server's offset (network, 5xx, 409)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from shipyard.cli.output import errors
from shipyard.i18n import _

# Long enough for the server to fsync and publish a large file after the last byte.
SLOW_REPLY = httpx.Timeout(30.0, read=300.0)
RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


class TransferError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UploadGone(TransferError):
    pass


class Transient(Exception):
    """A failure that another attempt, from where the server is, may get past."""


@dataclass
class Backoff:
    """Waits between attempts; `delays` also says how many retries there are in a row."""

    # About a minute in all: longer than the server waits for a silent body (30 s).
    delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
    sleep: Callable[[float], None] = field(default=time.sleep)

    def wait(self, failures: int, reason: Exception) -> None:
        """Sleep before retry number `failures`, or give up with the last reason."""
        if failures > len(self.delays):
            message = _(
                "gave up after %(count)d attempts (%(reason)s); "
                "run the same command again to resume"
            )
            raise TransferError(message % {"count": failures, "reason": describe(reason)})
        self.sleep(self.delays[failures - 1])


def describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def transient_status(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUS


def make_progress(*, enabled: bool) -> Progress:
    """One bar per file on stderr: bytes, speed, time left (off for --output json)."""
    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=errors,
        disable=not enabled,
    )


def set_done(progress: Progress, task: TaskID, done: int) -> None:
    progress.update(task, completed=done)
