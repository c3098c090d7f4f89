"""Fetch an image from the manager by digest into the agent's local OCI layout, then unpack it.

    puller = Puller(manager_url, token, store)
    ensured = puller.prepare(session_id, digest, progress=report)  # hold, pull, ensure

Every blob (the manifest, an index and the manifest it names for this platform, the config,
the layers) comes from GET /api/v1/agent/blobs/{digest} (shipyard.api.routes.agent_blobs),
signed with the agent token's key. Its bytes go to a partial file under `layout/partial/`;
a cut connection resumes there with a Range request; the whole file must hash to its digest
(and have its descriptor's size) before it is renamed into `layout/blobs/`: nothing else
of the answer is trusted. Once the store has unpacked the image, its blobs leave the layout
(the layout is a staging area: the store keeps the unpacked image, by digest).

Pulls run one at a time on an agent (a lock): two images may share layers, and one pull
must not remove a blob another is about to unpack. Runs in a worker thread: blocking I/O.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from shipyard import __version__
from shipyard.agent.images.blobs import Digest
from shipyard.agent.images.errors import BlobMismatch, ImageError, MalformedImage
from shipyard.agent.images.layout import JSON_LIMIT, OCI_INDEX, read_json_blob
from shipyard.agent.images.store import Ensured, ImageStore
from shipyard.agents import signing

#: called with (bytes the agent has, bytes of the whole image)
PullProgress = Callable[[int, int], None]
#: tries of one blob in a row that bring no new byte before the pull gives up
ATTEMPTS = 5
RETRY_DELAY = 0.2
_INDEXES = frozenset((OCI_INDEX, "application/vnd.docker.distribution.manifest.list.v2+json"))
_ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


class PullFailed(ImageError):
    """The manager could not be reached, or does not have the image (or one of its blobs)."""


class PullCancelled(ImageError):
    """The pull was called off (the session is no longer wanted)."""


class SignedRequests(httpx.Auth):
    """Signs each request as the agent-protocol calls are signed; answers are not checked
    here, as a blob's bytes are checked against its digest instead."""

    def __init__(self, token: str) -> None:
        token_hash = signing.token_hash(token)
        self.key = signing.manager_key(token_hash)
        self.kid = signing.key_id(token_hash)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        header, _nonce = signing.sign_request(
            self.key,
            kid=self.kid,
            method=request.method,
            target=request.url.raw_path.decode("ascii"),
            body=b"",
        )
        request.headers["Authorization"] = header
        yield request


@dataclass
class _Tally:
    """How much of the image the agent has, for progress reports."""

    done: int
    total: int
    report: PullProgress | None

    def add(self, count: int) -> None:
        self.done += count
        self.total = max(self.total, self.done)
        if self.report is not None:
            self.report(self.done, self.total)


class Puller:
    """Pulls images from the manager into `store.root/layout` and has the store unpack them."""

    def __init__(
        self, manager_url: str, token: str, store: ImageStore, *, timeout: float = 30.0
    ) -> None:
        self.store = store
        self.layout = store.root / "layout"
        self.http = httpx.Client(
            base_url=manager_url.rstrip("/"),
            auth=SignedRequests(token),
            headers={"User-Agent": f"shipyard-agent/{__version__}"},
            timeout=httpx.Timeout(timeout),
        )
        self._lock = threading.Lock()
        for directory in (self.layout / "blobs" / "sha256", self.layout / "partial"):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}\n')
        (self.layout / "index.json").write_text('{"schemaVersion": 2, "manifests": []}\n')

    def close(self) -> None:
        self.http.close()

    def prepare(
        self,
        session_id: str,
        digest: str,
        *,
        size: int = 0,
        progress: PullProgress | None = None,
        cancelled: threading.Event | None = None,
    ) -> Ensured:
        """The image `digest`, held for `session_id` and unpacked: pulled first unless the
        store has it already. `size` is the image's bytes as the manager knows them (the
        total shown until the manifest is read). Raises an ImageError: PullFailed,
        PullCancelled, MalformedImage or BlobMismatch (nothing of a bad blob is kept), or
        HostileLayer; the hold stays either way (the caller releases it)."""
        wanted = Digest.parse(digest)
        self.store.hold(session_id, wanted)
        if self._stored(wanted):
            return self.store.ensure(self.layout, wanted)
        with self._lock:
            if self._stored(wanted):  # pulled by another session meanwhile
                return self.store.ensure(self.layout, wanted)
            tally = _Tally(done=0, total=size, report=progress)
            pulled: list[Digest] = []
            try:
                stop = cancelled or threading.Event()
                self._pull(wanted, tally, stop, pulled)
                if stop.is_set():
                    raise PullCancelled(f"the pull of {wanted} was called off")
                return self.store.ensure(self.layout, wanted)
            finally:
                for blob in pulled:
                    self._blob_path(blob).unlink(missing_ok=True)

    def _stored(self, digest: Digest) -> bool:
        return any(image.digest == digest for image in self.store.images())

    def _pull(
        self, digest: Digest, tally: _Tally, cancelled: threading.Event, pulled: list[Digest]
    ) -> None:
        """Every blob of the image into the layout, each added to `pulled` first."""
        pulled.append(digest)
        self._fetch(digest, size=None, tally=tally, cancelled=cancelled)
        document = read_json_blob(self.layout, digest, size=None)
        if document.get("mediaType") in _INDEXES or (
            "manifests" in document and "layers" not in document
        ):
            chosen, size = _for_this_platform(document, what=f"index {digest}")
            pulled.append(chosen)
            self._fetch(chosen, size=size, tally=tally, cancelled=cancelled)
            document = read_json_blob(self.layout, chosen, size=size)
        blobs = [_descriptor(document.get("config"), what=f"manifest {digest}")]
        layers = document.get("layers")
        if not isinstance(layers, list):
            raise MalformedImage(f"manifest {digest} has no list of layers")
        blobs += [_descriptor(layer, what=f"manifest {digest}") for layer in layers]
        tally.total = tally.done + sum(size for _digest, size in blobs)
        for blob, size in blobs:
            pulled.append(blob)
            self._fetch(blob, size=size, tally=tally, cancelled=cancelled)

    def _fetch(
        self, digest: Digest, *, size: int | None, tally: _Tally, cancelled: threading.Event
    ) -> None:
        """One blob into the layout, resumed after a cut connection, checked before it is
        moved into place."""
        target = self._blob_path(digest)
        if target.exists():
            tally.add(target.stat().st_size)
            return
        limit = JSON_LIMIT if size is None else size
        partial = self.layout / "partial" / f"{digest.algorithm}-{digest.hex}"
        failures = 0
        with partial.open("ab") as out:
            tally.add(out.tell())
            while True:
                if cancelled.is_set():
                    raise PullCancelled(f"the pull of {digest} was called off")
                before = out.tell()
                try:
                    ended = self._download(digest, out, limit=limit, tally=tally, cancel=cancelled)
                except httpx.HTTPError as exc:
                    failures = 0 if out.tell() > before else failures + 1
                    if failures >= ATTEMPTS:
                        raise PullFailed(
                            f"could not fetch blob {digest} from the manager: "
                            f"{exc.__class__.__name__}: {exc}"
                        ) from None
                    time.sleep(RETRY_DELAY * 2**failures)  # a manager restarting: ~6 s
                    continue
                if ended:
                    break
        try:
            _verify(partial, digest, size=size)
        except BlobMismatch:
            partial.unlink(missing_ok=True)
            raise
        os.chmod(partial, 0o600)
        os.rename(partial, target)

    def _download(
        self,
        digest: Digest,
        out: Any,
        *,
        limit: int,
        tally: _Tally,
        cancel: threading.Event,
    ) -> bool:
        """One request from where `out` ends; True once the blob is whole (its answer ended)."""
        offset = out.tell()
        if offset >= limit > 0:
            return True
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        with self.http.stream("GET", f"/api/v1/agent/blobs/{digest}", headers=headers) as answer:
            if answer.status_code == 404:
                raise PullFailed(f"the manager has no blob {digest} (is the image deleted?)")
            if answer.status_code == 416 and offset:
                return True  # nothing past what the agent has: the digest check decides
            if answer.status_code not in (200, 206):
                answer.read()
                raise PullFailed(
                    f"the manager refused blob {digest}: {answer.status_code} {_message(answer)}"
                )
            if answer.status_code == 200 and offset:
                # The manager did not resume: start over.
                out.seek(0)
                out.truncate()
                tally.add(-offset)
            elif answer.status_code == 206 and not answer.headers.get(
                "content-range", ""
            ).startswith(f"bytes {offset}-"):
                raise PullFailed(f"the manager resumed blob {digest} at the wrong place")
            for chunk in answer.iter_bytes():  # as it arrives: a cut loses nothing
                if cancel.is_set():
                    raise PullCancelled(f"the pull of {digest} was called off")
                if out.tell() + len(chunk) > limit:
                    out.truncate(0)
                    raise BlobMismatch(f"blob {digest} is longer than the {limit} bytes expected")
                out.write(chunk)
                tally.add(len(chunk))
        out.flush()
        return True

    def _blob_path(self, digest: Digest) -> Path:
        return self.layout / "blobs" / digest.algorithm / digest.hex


def _verify(path: Path, digest: Digest, *, size: int | None) -> None:
    hasher = hashlib.new(digest.algorithm)
    count = 0
    with path.open("rb") as blob:
        for chunk in iter(lambda: blob.read(1 << 20), b""):
            hasher.update(chunk)
            count += len(chunk)
    if size is not None and count != size:
        raise BlobMismatch(f"blob {digest} has {count} bytes where its descriptor says {size}")
    if hasher.hexdigest() != digest.hex:
        raise BlobMismatch(f"blob {digest} from the manager does not match its digest")
    with path.open("rb") as blob:
        os.fsync(blob.fileno())


def _descriptor(value: object, *, what: str) -> tuple[Digest, int]:
    if not isinstance(value, dict):
        raise MalformedImage(f"{what} has a descriptor that is not an object")
    size = value.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise MalformedImage(f"{what} has a descriptor without a valid size")
    return Digest.parse(value.get("digest")), size


def _for_this_platform(index: dict[str, Any], *, what: str) -> tuple[Digest, int]:
    machine = platform.machine()
    arch = _ARCHES.get(machine, machine)
    entries = index.get("manifests")
    for entry in entries if isinstance(entries, list) else ():
        wanted = entry.get("platform") if isinstance(entry, dict) else None
        if isinstance(wanted, dict) and (wanted.get("os"), wanted.get("architecture")) == (
            "linux",
            arch,
        ):
            return _descriptor(entry, what=what)
    raise MalformedImage(f"{what} has no image for linux/{arch}")


def _message(answer: httpx.Response) -> str:
    with contextlib.suppress(ValueError, KeyError, TypeError):
        return str(json.loads(answer.content)["error"]["message"])[:200]
    return answer.text[:200]
