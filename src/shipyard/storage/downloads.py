"""Downloads: one file streamed from its already-open descriptor, whole or one byte range.

The file is opened once by `files.open_download` (links refused) and never again by path,
so what is validated is what is sent. `Range: bytes=a-b`, `a-` and `-n` give a 206; a range
that starts past the end gives a 416; several ranges in one header give the whole file
(200), as HTTP allows, rather than a multipart body. `If-Range` with a validator that no
longer matches (the file changed) gives the whole file too.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import BinaryIO
from urllib.parse import quote

from anyio import to_thread
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from shipyard.config import Settings
from shipyard.i18n import _
from shipyard.storage import files
from shipyard.users.models import User

log = logging.getLogger(__name__)

CHUNK = 512 * 1024
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class Unsatisfiable(Exception):
    """The range starts beyond the end of the file."""


@dataclass(frozen=True)
class Span:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> Span | None:
    """The one range a `Range` header asks for, or None for the whole file.

    Several ranges, other units and malformed headers mean the whole file; a range that
    cannot be satisfied raises `Unsatisfiable`.
    """
    if header is None or "," in header:
        return None
    match = _RANGE.match(header)
    if match is None or match[1] == match[2] == "":
        return None
    first, last = match[1], match[2]
    if first == "":  # suffix: the last n bytes
        wanted = int(last)
        if wanted == 0 or size == 0:
            raise Unsatisfiable
        return Span(max(size - wanted, 0), size - 1)
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise Unsatisfiable
    return Span(start, size - 1 if last == "" else min(int(last), size - 1))


def etag(info: os.stat_result) -> str:
    """A strong validator: changes whenever the file is rewritten or replaced."""
    return f'"{info.st_size:x}-{info.st_mtime_ns:x}-{info.st_ino:x}"'


def disposition(name: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name in RFC 5987 form."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = "".join(c if c.isprintable() and c not in '"\\' else "_" for c in ascii_name)
    fallback = fallback.strip() or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# Types a browser shows but never runs; every other file is sent as plain bytes, so user
# content never runs in the console's origin (with `nosniff` from the console middleware).
INERT_TYPES = frozenset(
    {"text/plain", "text/csv", "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"}
    | {"audio/mpeg", "audio/ogg", "audio/wav", "video/mp4", "video/webm", "video/ogg"}
)


def media_type(name: str) -> str:
    """The file's type when it is inert (INERT_TYPES), else application/octet-stream."""
    guessed = mimetypes.guess_type(name)[0]
    return guessed if guessed in INERT_TYPES else "application/octet-stream"


def _headers(download: files.Download, info: os.stat_result) -> dict[str, str]:
    return {
        "Accept-Ranges": "bytes",
        "Content-Type": media_type(download.name),
        "Content-Disposition": disposition(download.name),
        "Content-Security-Policy": "sandbox",
        "ETag": etag(info),
        "Last-Modified": formatdate(info.st_mtime, usegmt=True),
        "Cache-Control": "private, no-cache",
    }


def _fresh(if_range: str | None, headers: Mapping[str, str]) -> bool:
    """Whether a Range may be honoured: no If-Range, or one that still matches the file."""
    return if_range is None or if_range.strip() in (headers["ETag"], headers["Last-Modified"])


def respond(
    db: Session,
    settings: Settings,
    *,
    user: User,
    ref: str,
    path: str,
    range_header: str | None = None,
    if_range: str | None = None,
    head: bool = False,
) -> Response:
    """The response for a download (needs read access); the file closes when it is sent.

    Ends `db`'s transaction and releases its connection first: a body may stream for hours.
    """
    download = files.open_download(db, settings, user=user, ref=ref, path=path)
    db.close()
    info = os.fstat(download.file.fileno())
    headers = _headers(download, info)
    try:
        span = parse_range(range_header, info.st_size) if _fresh(if_range, headers) else None
    except Unsatisfiable:
        download.file.close()
        return _unsatisfiable(info.st_size)
    status = 200 if span is None else 206
    span = span or Span(0, info.st_size - 1)
    headers["Content-Length"] = str(span.length)
    if status == 206:
        headers["Content-Range"] = f"bytes {span.start}-{span.end}/{info.st_size}"
    return FileBody(download.file, span=span, status_code=status, headers=headers, head=head)


def _unsatisfiable(size: int) -> JSONResponse:
    message = _("The requested range lies beyond the end of the file.")
    return JSONResponse(
        {"error": {"code": "range_not_satisfiable", "message": message, "details": None}},
        status_code=416,
        headers={"Content-Range": f"bytes */{size}"},
    )


class FileBody(Response):
    """Sends `span` of an open file in `CHUNK`s read off the event loop, then closes it.

    The file is closed however the response ends: sent, client gone, or server error.
    """

    def __init__(
        self,
        file: BinaryIO,
        *,
        span: Span,
        status_code: int,
        headers: Mapping[str, str],
        head: bool = False,
    ) -> None:
        self.file = file
        self.span = span
        self.head = head
        self.status_code = status_code
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            if not self.head:
                await self._send_span(send)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError as error:  # mostly the client going away: ASGI 2.4 servers raise it
            log.info("download of %s ended early: %s", self.file.name, error)
        finally:
            self.file.close()

    async def _send_span(self, send: Send) -> None:
        position, remaining = self.span.start, self.span.length
        while remaining > 0:
            chunk = await to_thread.run_sync(
                os.pread, self.file.fileno(), min(CHUNK, remaining), position
            )
            if not chunk:  # the file shrank while being sent: the response stays short
                raise ShortFile(position)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            position += len(chunk)
            remaining -= len(chunk)


class ShortFile(Exception):
    """A file ended before its promised length; the connection is dropped, not padded."""
