"""Digests, and a reader that checks a blob's digest and size while it is read."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shipyard.agent.images.errors import BlobMismatch, HostileLayer, MalformedImage

_DIGEST = re.compile(r"(sha256):([0-9a-f]{64})|(sha512):([0-9a-f]{128})")
#: called with the bytes read so far after each read
Progress = Callable[[int], None]


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Digest:
    """A content digest such as sha256:<64 hex>; only its canonical form is accepted."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: object) -> Digest:
        """The digest `text` names, or MalformedImage (it is also safe as a path component)."""
        match = _DIGEST.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise MalformedImage(f"not a sha256 or sha512 digest: {str(text)[:100]!r}")
        algorithm, hex_ = match.group(1, 2) if match.group(1) else match.group(3, 4)
        return cls(algorithm, hex_)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


class VerifyingReader(io.BufferedIOBase):
    """Reads `source` and fails when its bytes stop matching `digest` and `size`.

    `size` (when known) is checked as soon as the source runs past it and again at its end;
    the digest at the end, i.e. when a read returns b"" or `finish()` is called. Past
    `limit` bytes HostileLayer is raised (a decompression bomb), and `what` names the blob.
    """

    def __init__(
        self,
        source: Readable,
        *,
        digest: Digest,
        size: int | None,
        what: str,
        limit: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        super().__init__()
        self._source = source
        self._digest = digest
        self._hash = hashlib.new(digest.algorithm)
        self._size = size
        self._what = what
        self._limit = limit
        self._progress = progress
        self.count = 0
        #: the source has ended (and the blob was checked)
        self.at_end = False
        self._verified = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        size = -1 if size is None else size
        data = self._source.read(size)
        if not data:
            if size != 0:
                self._verify()
                self.at_end = True
            return data
        self.count += len(data)
        self._hash.update(data)
        if self._size is not None and self.count > self._size:
            raise BlobMismatch(f"{self._what} is longer than the {self._size} bytes it declares")
        if self._limit is not None and self.count > self._limit:
            raise HostileLayer(f"{self._what} unpacks to more than {self._limit} bytes")
        if self._progress is not None:
            self._progress(self.count)
        return data

    def finish(self) -> None:
        """Read whatever is left and check the whole blob."""
        while self.read(1 << 20):
            pass
        self._verify()

    def _verify(self) -> None:
        if self._verified:
            return
        if self._size is not None and self.count != self._size:
            raise BlobMismatch(
                f"{self._what} has {self.count} bytes where its descriptor says {self._size}"
            )
        if self._hash.hexdigest() != self._digest.hex:
            raise BlobMismatch(f"{self._what} does not match its digest {self._digest}")
        self._verified = True
