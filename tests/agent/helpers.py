"""Helpers for the agent tests: specs with unique ids, waiting with timeouts, /proc lookups."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from shipyard.agent.runtime.base import Runtime, SessionSpec, SessionStatus
from shipyard.agent.runtime.terminal import TerminalClosed, TerminalConnection

MiB = 1024 * 1024


def make_spec(*command: str, **fields: Any) -> SessionSpec:
    """A batch session with a fresh id, no limits and no environment, unless told otherwise."""
    values: dict[str, Any] = {
        "session_id": uuid.uuid4().hex,
        "kind": "batch",
        "command": command,
        "env": {},
        "cpu": Decimal(0),
        "mem": 0,
    }
    return SessionSpec(**{**values, **fields})


def unique_sleep() -> tuple[str, str]:
    """A sleep command whose argv no other process on the host has."""
    return "sleep", f"600.{uuid.uuid4().int % 10**9:09d}"


def wait_for(condition: Callable[[], Any], *, timeout: float = 10.0, what: str = "it") -> Any:
    """Poll until `condition()` is truthy and return it; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)
    return result


def wait_exited(runtime: Runtime, session_id: str, *, timeout: float = 10.0) -> SessionStatus:
    """The session's final status, once it has exited."""

    def exited() -> SessionStatus | None:
        status = runtime.status(session_id)
        assert status is not None, f"session {session_id} vanished"
        return None if status.running else status

    status: SessionStatus = wait_for(exited, timeout=timeout, what=f"session {session_id} to exit")
    return status


def run_batch(
    runtime: Runtime, spec: SessionSpec, *, timeout: float = 10.0
) -> tuple[SessionStatus, str]:
    """Run a batch session to its end: its final status and everything it printed."""
    runtime.start(spec)
    status = wait_exited(runtime, spec.session_id, timeout=timeout)
    return status, all_logs(runtime, spec.session_id).decode()


def all_logs(runtime: Runtime, session_id: str) -> bytes:
    data, _ = runtime.read_logs(session_id, limit=1 << 24)
    return data


def read_until(connection: TerminalConnection, needle: bytes, *, timeout: float = 10.0) -> bytes:
    """Everything the terminal printed until `needle` appeared in it."""
    received = bytearray()
    deadline = time.monotonic() + timeout
    while needle not in received:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(
                f"{needle!r} did not appear; the terminal showed {bytes(received)!r}"
            )
        received += connection.recv(timeout=left)
    return bytes(received)


def read_to_end(connection: TerminalConnection, *, timeout: float = 10.0) -> bytes:
    """Everything the terminal prints until the session side closes it."""
    received = bytearray()
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            received += connection.recv(timeout=left)
        except TerminalClosed:
            return bytes(received)
    raise AssertionError(f"the terminal stayed open; it showed {bytes(received)!r}")


def processes_with_args(*args: str) -> list[int]:
    """Host pids of the processes whose argv is exactly `args`."""
    wanted = "\0".join(args).encode() + b"\0"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if cmdline.read() == wanted:
                    found.append(int(entry))
        except OSError:
            continue
    return found


def supervisors_of(session_id: str) -> list[int]:
    """Host pids of the live supervisor processes of a session."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                args = cmdline.read().decode().split("\0")
        except OSError:
            continue
        if "shipyard.agent.supervisor" in args and any(a.endswith(f"/{session_id}") for a in args):
            found.append(int(entry))
    return found
