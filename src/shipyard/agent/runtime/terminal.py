"""Client side of an interactive session's terminal socket, and the frames both sides use.

The protocol is described in shipyard.agent.supervisor. `attach()` is what the agent's
WebSocket bridge uses: send keystrokes and resizes, receive what the terminal prints.
"""

from __future__ import annotations

import os
import select
import socket
import struct
from pathlib import Path
from types import TracebackType

INPUT = b"d"
RESIZE = b"r"
FRAME_TYPES = frozenset({INPUT, RESIZE})
MAX_PAYLOAD = 1 << 20
_HEADER = struct.Struct(">cI")
# sun_path holds 108 bytes; longer paths are reached through /proc/self/fd/<dir>.
_MAX_SOCKET_PATH = 100


class TerminalClosed(EOFError):
    """The session's side of the terminal is gone (the session has ended)."""


def frame(kind: bytes, payload: bytes) -> bytes:
    """One frame: type (1 byte), payload length (4 bytes, big-endian), payload."""
    if kind not in FRAME_TYPES or len(payload) > MAX_PAYLOAD:
        raise ValueError("bad frame type or payload too long")
    return _HEADER.pack(kind, len(payload)) + payload


def resize_payload(rows: int, cols: int) -> bytes:
    if not (0 < rows < 65536 and 0 < cols < 65536):
        raise ValueError("rows and cols must be between 1 and 65535")
    return f"{rows},{cols}".encode()


def parse_resize(payload: bytes) -> tuple[int, int]:
    """(rows, cols) from a resize payload; ValueError if it is not "rows,cols"."""
    rows_text, cols_text = payload.decode("ascii").split(",")
    rows, cols = int(rows_text), int(cols_text)
    resize_payload(rows, cols)
    return rows, cols


class FrameDecoder:
    """Splits a byte stream into (type, payload) frames; ValueError on a malformed one."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= _HEADER.size:
            kind, length = _HEADER.unpack_from(self._buffer)
            if kind not in FRAME_TYPES or length > MAX_PAYLOAD:
                raise ValueError("malformed terminal frame")
            end = _HEADER.size + length
            if len(self._buffer) < end:
                break
            frames.append((kind, bytes(self._buffer[_HEADER.size : end])))
            del self._buffer[:end]
        return frames


class TerminalConnection:
    """One attachment to a session's terminal. Close it (or use it as a context manager)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def fileno(self) -> int:
        """The socket's descriptor, readable when `recv` has something; for event loops."""
        return self._sock.fileno()

    def send(self, data: bytes) -> None:
        """Type `data` into the terminal (split into frames of at most MAX_PAYLOAD)."""
        for start in range(0, len(data), MAX_PAYLOAD):
            self._sock.sendall(frame(INPUT, data[start : start + MAX_PAYLOAD]))

    def resize(self, rows: int, cols: int) -> None:
        """Set the terminal's size; the session's foreground program gets SIGWINCH."""
        self._sock.sendall(frame(RESIZE, resize_payload(rows, cols)))

    def recv(self, timeout: float | None = None) -> bytes:
        """Output the terminal printed, b"" if none came within `timeout` seconds.

        The first bytes after attaching replay the last 64 KiB of output. Raises
        TerminalClosed once the session has ended and everything was read.
        """
        readable, _, _ = select.select([self._sock], [], [], timeout)
        if not readable:
            return b""
        data = self._sock.recv(65536)
        if not data:
            raise TerminalClosed("the session's terminal has closed")
        return data

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> TerminalConnection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def attach(socket_path: Path, *, timeout: float = 5.0) -> TerminalConnection:
    """Connect to a terminal socket (see Runtime.terminal_socket); OSError if it is gone."""
    return TerminalConnection(connect(socket_path, timeout=timeout))


def connect(socket_path: Path, *, timeout: float = 5.0) -> socket.socket:
    """A connected AF_UNIX stream socket, even for a path longer than sun_path allows."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        if len(os.fsencode(socket_path)) <= _MAX_SOCKET_PATH:
            sock.connect(os.fsencode(socket_path))
        else:
            directory = os.open(socket_path.parent, os.O_PATH | os.O_DIRECTORY)
            try:
                sock.connect(f"/proc/self/fd/{directory}/{socket_path.name}")
            finally:
                os.close(directory)
        sock.settimeout(None)
    except BaseException:
        sock.close()
        raise
    return sock
