"""Resumable uploads through the server's tus 1.0 endpoints, streamed from disk.

An upload is remembered in `ResumeState` as soon as the server has created it, so running
the same command again after Ctrl-C, a kill or a lost connection continues from the server's
offset (HEAD) instead of from zero. A network error during a PATCH is retried with backoff
from that offset too. Each PATCH carries at most `CHUNK` bytes, read from disk block by block.
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx
from rich.progress import Progress, TaskID

from shipyard.cli.folders.resume_state import ResumeState, UploadKey
from shipyard.cli.folders.transfer import (
    SLOW_REPLY,
    Backoff,
    TransferError,
    Transient,
    UploadGone,
    describe,
    set_done,
    transient_status,
)
from shipyard.cli.http import ApiError, api_error, segment
from shipyard.i18n import _

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = 64 * 1024 * 1024  # bytes per PATCH: no single request is huge (proxies limit them)
BLOCK = 1024 * 1024  # read from disk in blocks this big: memory stays flat


@dataclass(frozen=True)
class Target:
    """Where files go: a folder (by id) and a directory in it ("" is the folder's root)."""

    folder_id: str
    directory: str = ""
    replace: bool = False


@dataclass(frozen=True)
class Sent:
    local: str
    path: str
    size: int
    resumed_from: int  # bytes the server already had from an earlier run (0: a fresh upload)


def remote_join(directory: str, name: str) -> str:
    return "/".join(part for part in (directory.strip("/"), name) if part)


def metadata(name: str, target: Target) -> str:
    """The tus Upload-Metadata header: comma-separated `key base64(value)` pairs."""
    pairs = {"filename": name}
    if target.directory.strip("/"):
        pairs["path"] = target.directory.strip("/")
    if target.replace:
        pairs["replace"] = "1"
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


class Uploader:
    """Uploads files one at a time, each with its own progress bar."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        state: ResumeState,
        progress: Progress,
        backoff: Backoff | None = None,
        chunk_size: int = CHUNK,
    ) -> None:
        self.client = client
        self.state = state
        self.progress = progress
        self.backoff = backoff or Backoff()
        self.chunk_size = chunk_size

    def upload(self, local: Path, target: Target) -> Sent:
        key = self._key(local, target)
        self._terminate_outdated(key)
        url, offset = self._resume(key)
        if url is None:
            url = self._create(local.name, target, size=key.size)
            self.state.remember(key, url)
        task = self.progress.add_task(key.remote_path, total=key.size, completed=offset)
        with local.open("rb") as handle:
            try:
                self._send(url, handle, key=key, offset=offset, task=task)
            except UploadGone:
                self.state.forget(key)
                raise
        self.state.forget(key)
        return Sent(local=str(local), path=key.remote_path, size=key.size, resumed_from=offset)

    def _key(self, local: Path, target: Target) -> UploadKey:
        info = local.stat()
        return UploadKey(
            endpoint=str(self.client.base_url),
            folder_id=target.folder_id,
            remote_path=remote_join(target.directory, local.name),
            local_path=str(local.resolve()),
            size=info.st_size,
            mtime_ns=info.st_mtime_ns,
        )

    def _terminate_outdated(self, key: UploadKey) -> None:
        """Uploads of an earlier version of this file can never finish: end them."""
        for old, url in self.state.outdated(key):
            with contextlib.suppress(httpx.HTTPError):  # else the server expires it
                self.client.delete(url, headers=TUS)
            self.state.forget(old)

    def _resume(self, key: UploadKey) -> tuple[str | None, int]:
        url = self.state.url_for(key)
        if url is None:
            return None, 0
        try:
            offset, length = self._head(url)
        except UploadGone:
            self.state.forget(key)
            return None, 0
        except Transient as exc:
            raise TransferError(_("cannot reach the server: %s") % describe(exc)) from exc
        if length != key.size:
            self.state.forget(key)
            return None, 0
        return url, offset

    def _create(self, name: str, target: Target, *, size: int) -> str:
        headers = {**TUS, "Upload-Length": str(size), "Upload-Metadata": metadata(name, target)}
        try:
            response = self.client.post(
                f"/api/v1/folders/{segment(target.folder_id)}/uploads", headers=headers
            )
        except httpx.HTTPError as exc:
            raise ApiError(
                _("cannot reach %(url)s: %(error)s")
                % {"url": self.client.base_url, "error": describe(exc)}
            ) from exc
        if response.status_code != 201:
            raise api_error(response)
        return self._same_origin(response.headers.get("Location", ""))

    def _same_origin(self, location: str) -> str:
        """The upload's URL; the token is never sent to a host the endpoint did not name."""
        url = self.client.base_url.join(location)
        base = self.client.base_url
        if not location or (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
            raise TransferError(_("the server answered with an unusable upload address"))
        return str(url)

    def _send(
        self, url: str, handle: BinaryIO, *, key: UploadKey, offset: int | None, task: TaskID
    ) -> None:
        """PATCH until the server has every byte; after a failure, ask it where it is."""
        failures = 0
        last: Transient | None = None
        while True:
            try:
                if offset is None:
                    offset = self._head(url)[0]
                    set_done(self.progress, task, offset)
                if offset >= key.size:
                    return
                _check_unchanged(handle, key)
                offset = self._patch(url, handle, offset=offset, size=key.size, task=task)
                failures = 0
            except Transient as exc:
                failures, last, offset = failures + 1, exc, None
                self.backoff.wait(failures, exc)
            except UploadGone as exc:
                if last is None:
                    raise
                raise UploadGone(describe(last)) from exc  # why the server gave it up

    def _patch(self, url: str, handle: BinaryIO, *, offset: int, size: int, task: TaskID) -> int:
        length = min(self.chunk_size, size - offset)
        headers = {
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
            "Content-Length": str(length),
        }
        body = self._blocks(handle, offset=offset, length=length, task=task)
        try:
            response = self.client.patch(url, content=body, headers=headers, timeout=SLOW_REPLY)
        except httpx.TransportError as exc:
            raise Transient(describe(exc)) from exc
        if response.status_code == 204:
            return _offset(response)
        raise _failure(response)

    def _blocks(
        self, handle: BinaryIO, *, offset: int, length: int, task: TaskID
    ) -> Iterator[bytes]:
        handle.seek(offset)
        left = length
        while left:
            block = handle.read(min(BLOCK, left))
            if not block:
                raise TransferError(
                    _("%s became shorter while it was being uploaded") % handle.name
                )
            left -= len(block)
            self.progress.advance(task, len(block))
            yield block

    def _head(self, url: str) -> tuple[int, int]:
        """The server's (offset, length) for an upload."""
        try:
            response = self.client.head(url, headers=TUS)
        except httpx.TransportError as exc:
            raise Transient(describe(exc)) from exc
        if not response.is_success:
            raise _failure(response)
        return _offset(response), _int_header(response, "Upload-Length")


def _failure(response: httpx.Response) -> Exception:
    if response.status_code in (404, 410):
        return UploadGone(
            _(
                "the server no longer has this upload (it expired or was cancelled); "
                "run the command again to start over"
            )
        )
    if response.status_code == 409 or transient_status(response):  # 409: offset mismatch
        return Transient(api_error(response).message)
    return api_error(response)


def _offset(response: httpx.Response) -> int:
    return _int_header(response, "Upload-Offset")


def _int_header(response: httpx.Response, name: str) -> int:
    try:
        value = int(response.headers.get(name, ""))
    except ValueError:
        value = -1
    if value < 0:
        raise TransferError(_("the server's reply lacks a valid %s header") % name)
    return value


def _check_unchanged(handle: BinaryIO, key: UploadKey) -> None:
    info = os.fstat(handle.fileno())
    if (info.st_size, info.st_mtime_ns) != (key.size, key.mtime_ns):
        raise TransferError(
            _("%s changed while it was being uploaded; upload it again") % key.local_path
        )
