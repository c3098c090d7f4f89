"""Resumable downloads: the bytes so far in `LOCAL.part`, the server's ETag in `LOCAL.part.etag`.

A rerun asks only for the rest (`Range: bytes=<have>-`) and only while the file is unchanged
(`If-Range: <etag>`); a 200 instead of a 206 means it changed, and the download starts over.
LOCAL appears, complete, by one rename.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import httpx
from rich.progress import Progress, TaskID

from shipyard.cli.folders.transfer import (
    Backoff,
    TransferError,
    Transient,
    describe,
    set_done,
    transient_status,
)
from shipyard.cli.http import api_error, segment
from shipyard.i18n import _

CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
UNSATISFIED_RANGE = re.compile(r"^bytes \*/(\d+)$")


@dataclass(frozen=True)
class Got:
    path: str
    local: str
    size: int
    resumed_from: int  # bytes an earlier run had already fetched (0: from the start)


def destination(remote: str, local: Path | None) -> Path:
    """LOCAL as given, inside it when it is a directory, else the remote name here."""
    name = PurePosixPath(remote).name
    if not name:
        raise TransferError(_("give the path of a file in the folder"))
    if local is None:
        return Path(name)
    return local / name if local.is_dir() else local


def part_of(local: Path) -> Path:
    return local.with_name(local.name + ".part")


def tag_of(local: Path) -> Path:
    return local.with_name(local.name + ".part.etag")


class Downloader:
    def __init__(
        self, client: httpx.Client, *, progress: Progress, backoff: Backoff | None = None
    ) -> None:
        self.client = client
        self.progress = progress
        self.backoff = backoff or Backoff()
        self._resumed_from: int | None = None  # where this download's first answer started

    def download(self, folder_id: str, remote: str, local: Path, *, force: bool = False) -> Got:
        if local.exists() and not force:
            raise TransferError(_("%s exists: add --force to overwrite it") % local)
        self._resumed_from = None
        task = self.progress.add_task(remote, total=None, completed=_have(local))
        failures = 0
        while True:
            try:
                total = self._fetch(folder_id, remote, local, task=task)
                break
            except Transient as exc:
                failures += 1
                self.backoff.wait(failures, exc)
        size = part_of(local).stat().st_size
        if total is not None and size != total:
            raise TransferError(_("the download ended early; run the command again to resume"))
        os.replace(part_of(local), local)
        tag_of(local).unlink(missing_ok=True)
        resumed_from = self._resumed_from or 0
        return Got(path=remote, local=str(local), size=size, resumed_from=resumed_from)

    def _fetch(self, folder_id: str, remote: str, local: Path, *, task: TaskID) -> int | None:
        """One GET into the .part file; the file's full size when the server said it."""
        have = _have(local)
        headers = {"Accept-Encoding": "identity"}  # byte offsets must be the file's
        if have:
            headers["Range"] = f"bytes={have}-"
            headers["If-Range"] = tag_of(local).read_text(encoding="utf-8").strip()
        url = f"/api/v1/folders/{segment(folder_id)}/download"
        try:
            with self.client.stream(
                "GET", url, params={"path": remote}, headers=headers
            ) as response:
                return self._receive(response, local, have=have, task=task)
        except httpx.TransportError as exc:
            raise Transient(describe(exc)) from exc

    def _receive(
        self, response: httpx.Response, local: Path, *, have: int, task: TaskID
    ) -> int | None:
        total: int | None
        if response.status_code == 206:
            start, total = _content_range(response)
            if start != have:
                _start_over(local)
                raise Transient(_("the server sent another part than asked for"))
            mode = "ab"
        elif response.status_code == 200:
            total = _length(response)
            _keep_tag(local, response.headers.get("ETag", ""))
            have, mode = 0, "wb"
        elif response.status_code == 416 and have:
            return self._unsatisfied(response, local, have=have, task=task)
        else:
            response.read()
            if transient_status(response):
                raise Transient(describe(api_error(response)))
            raise api_error(response)
        self._started(have)
        self.progress.update(task, total=total, completed=have)
        with part_of(local).open(mode) as out:
            for chunk in response.iter_bytes():  # as it arrives: a drop loses nothing
                out.write(chunk)
                self.progress.advance(task, len(chunk))
        return total

    def _started(self, at: int) -> None:
        if self._resumed_from is None:
            self._resumed_from = at

    def _unsatisfied(
        self, response: httpx.Response, local: Path, *, have: int, task: TaskID
    ) -> int:
        """A 416: the .part may already hold the whole file; otherwise start over."""
        found = UNSATISFIED_RANGE.match(response.headers.get("Content-Range", ""))
        if found and int(found.group(1)) == have:
            self._started(have)
            self.progress.update(task, total=have)
            set_done(self.progress, task, have)
            return have
        _start_over(local)
        raise Transient(_("the partial download does not fit the file any more"))


def _have(local: Path) -> int:
    """Bytes a resumable .part holds: only with the ETag they came with."""
    part = part_of(local)
    if not part.is_file() or not tag_of(local).is_file():
        return 0
    return part.stat().st_size


def _keep_tag(local: Path, etag: str) -> None:
    """Remember a strong ETag beside the .part; without one, nothing can be resumed."""
    if etag and not etag.startswith("W/"):
        tag_of(local).write_text(etag + "\n", encoding="utf-8")
    else:
        tag_of(local).unlink(missing_ok=True)


def _start_over(local: Path) -> None:
    part_of(local).unlink(missing_ok=True)
    tag_of(local).unlink(missing_ok=True)


def _content_range(response: httpx.Response) -> tuple[int, int]:
    found = CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if not found:
        raise TransferError(_("the server's partial reply lacks a valid Content-Range"))
    return int(found.group(1)), int(found.group(3))


def _length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None
