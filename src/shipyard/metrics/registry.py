"""The instruments of one manager app, in a registry of its own.

Each app owns a `Metrics` (tests build many apps in one process, so nothing goes into
prometheus_client's global registry). Code that observes something gets the instrument
from here; gauges read from the database are added by `watch()`.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import generate_latest

from shipyard.db import Database
from shipyard.metrics.collector import DatabaseCollector

FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
HTTP = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
WAIT = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0)


class Metrics:
    """Instruments, each registered only in `registry`."""

    def __init__(self) -> None:
        # process-wide: the *_created series would only double the number of series
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        registry = self.registry
        self.scheduler_round_seconds = Histogram(
            "shipyard_scheduler_round_seconds",
            "Duration of one scheduling round (housekeeping and placement).",
            buckets=(*FAST, 5.0, 10.0),
            registry=registry,
        )
        self.scheduler_placements = Counter(
            "shipyard_scheduler_placements",
            "Sessions the scheduler has placed on an agent.",
            registry=registry,
        )
        self.session_start_wait_seconds = Histogram(
            "shipyard_session_start_wait_seconds",
            "Time a session waited from creation (PENDING) until it was placed (SCHEDULED).",
            buckets=WAIT,
            registry=registry,
        )
        self.agent_heartbeat_seconds = Histogram(
            "shipyard_agent_heartbeat_seconds",
            "Time the manager took to handle one agent heartbeat.",
            buckets=FAST,
            registry=registry,
        )
        self.http_request_duration_seconds = Histogram(
            "shipyard_http_request_duration_seconds",
            "HTTP request duration by method, route template and status class.",
            ["method", "route", "status_class"],
            buckets=HTTP,
            registry=registry,
        )
        self.http_requests_in_flight = Gauge(
            "shipyard_http_requests_in_flight",
            "HTTP requests being handled now.",
            registry=registry,
        )

    def watch(self, database: Database) -> None:
        """Also export the process's own figures and the gauges read from `database`."""
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.registry.register(DatabaseCollector(database))

    def observe_round(self, *, waits: list[float], seconds: float) -> None:
        """A scheduling round took `seconds` and placed sessions that waited `waits`."""
        self.scheduler_placements.inc(len(waits))
        for wait in waits:
            self.session_start_wait_seconds.observe(wait)
        self.scheduler_round_seconds.observe(seconds)

    def exposition(self) -> bytes:
        """Everything, in the Prometheus text format (version 0.0.4)."""
        return generate_latest(self.registry)
