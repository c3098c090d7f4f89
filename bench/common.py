"""Small helpers every benchmark script shares (imported as `common`: scripts run from bench/)."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from shipyard.db import Database


class StatementCounter:
    """Counts the SQL statements the engine sends (server threads included) since reset()."""

    def __init__(self, database: Database) -> None:
        self.count = 0
        event.listen(database.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def reset(self) -> None:
        self.count = 0


def ms(samples: list[float], percent: int) -> float:
    """The `percent`-th percentile of durations in seconds, in milliseconds."""
    return round(statistics.quantiles(samples, n=100, method="inclusive")[percent - 1] * 1e3, 2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class BenchFailed(Exception):
    """Something did not behave as a working Shipyard would; the run is void."""


@contextmanager
def shipyard_process(
    args: list[str], *, env: dict[str, str], log_path: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`shipyard <args> --port P` in its own process, ready (/readyz answers 200).

    Yields its base URL and the process; stops it with SIGINT (then SIGKILL) afterwards.
    Output goes to `log_path` when given, whose tail a failure to start then shows.
    """
    port = free_port()
    command = [str(Path(sys.executable).parent / "shipyard"), *args, "--port", str(port)]
    with log_path.open("wb") if log_path else open(os.devnull, "wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, process, name=f"`shipyard {args[0]}`", log_path=log_path)
        yield base_url, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(
    base_url: str, process: subprocess.Popen[bytes], *, name: str, log_path: Path | None
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    tail = log_path.read_text(errors="replace")[-2000:] if log_path else ""
    raise BenchFailed(f"{name} did not become ready" + (f"; its log ends:\n{tail}" if tail else ""))
