"""Small helpers every benchmark script shares (imported as `common`: scripts run from bench/)."""

from __future__ import annotations

import socket
import statistics
from typing import Any

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
