"""Gauges read from the database at scrape time, in a fixed handful of grouped queries.

Finished sessions are never scanned: only the live statuses are counted (an index on
status serves that), so a scrape costs the same with 200k finished sessions as with none.
When the database cannot be read, the scrape still answers: `shipyard_database_up 0` and
the process metrics, no 500.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shipyard.agents.models import Agent, AgentStatus, ResourceGroup
from shipyard.db import Database, utcnow
from shipyard.resources import ledger
from shipyard.resources.models import Scope
from shipyard.resources.slots import ResourceSlots
from shipyard.sessions.models import FINISHED, SessionStatus
from shipyard.sessions.models import ComputeSession as Row

log = logging.getLogger(__name__)
LIVE = tuple(status for status in SessionStatus if status not in FINISHED)
ALWAYS_SHOWN = ("cpu", "mem")  # slots every group reports, even as 0


@dataclass
class Snapshot:
    """The figures of one scrape, keyed by resource group id."""

    groups: dict[uuid.UUID, str] = field(default_factory=dict)
    sessions: dict[tuple[uuid.UUID, SessionStatus], int] = field(default_factory=dict)
    agents: dict[tuple[uuid.UUID, AgentStatus], int] = field(default_factory=dict)
    schedulable: dict[uuid.UUID, int] = field(default_factory=dict)
    oldest_heartbeat: dict[uuid.UUID, datetime] = field(default_factory=dict)
    capacity: dict[uuid.UUID, ResourceSlots] = field(default_factory=dict)
    allocated: dict[uuid.UUID, ResourceSlots] = field(default_factory=dict)


def read_snapshot(db: Session) -> Snapshot:
    """Everything the gauges show, in five statements whatever the amount of data."""
    names = db.execute(select(ResourceGroup.id, ResourceGroup.name))
    snapshot = Snapshot(groups={row.id: row.name for row in names})
    counted = db.execute(
        select(Row.resource_group_id, Row.status, func.count())
        .where(Row.status.in_(LIVE))
        .group_by(Row.resource_group_id, Row.status)
    )
    snapshot.sessions = {(group, status): count for group, status, count in counted}
    _read_agents(db, snapshot)
    held = ledger.held_by_all(db, Scope.GROUP)
    snapshot.allocated = {
        group: held[str(group)].slots for group in snapshot.groups if str(group) in held
    }
    return snapshot


def _read_agents(db: Session, snapshot: Snapshot) -> None:
    rows = db.execute(
        select(
            Agent.resource_group_id,
            Agent.status,
            Agent.schedulable,
            func.count(),
            func.min(Agent.last_heartbeat_at),
        ).group_by(Agent.resource_group_id, Agent.status, Agent.schedulable)
    )
    for group, status, schedulable, count, oldest in rows:
        key = (group, status)
        snapshot.agents[key] = snapshot.agents.get(key, 0) + count
        if status is AgentStatus.ALIVE:
            if schedulable:
                snapshot.schedulable[group] = snapshot.schedulable.get(group, 0) + count
            known = snapshot.oldest_heartbeat.get(group)
            snapshot.oldest_heartbeat[group] = oldest if known is None else min(known, oldest)
    snapshot.capacity = _capacity(db)


def _capacity(db: Session) -> dict[uuid.UUID, ResourceSlots]:
    """What the live schedulable agents of each group offer together."""
    live = db.execute(
        select(Agent.resource_group_id, Agent.capacity).where(
            Agent.status == AgentStatus.ALIVE, Agent.schedulable.is_(True)
        )
    )
    # agents mostly share a few shapes: parse each shape once, then scale it by its count
    shapes: Counter[tuple[uuid.UUID, tuple[tuple[str, Any], ...]]] = Counter()
    for group, raw in live:
        shapes[group, tuple(sorted((raw or {}).items()))] += 1
    capacity: dict[uuid.UUID, ResourceSlots] = defaultdict(ResourceSlots)
    for (group, shape), count in shapes.items():
        slots = ResourceSlots.from_json(dict(shape))
        capacity[group] = capacity[group] + ResourceSlots({s: v * count for s, v in slots.items()})
    return dict(capacity)


def families(snapshot: Snapshot, *, now: datetime) -> Iterator[GaugeMetricFamily]:
    """The gauges of a snapshot; every group gets every status and the usual slots, zeros too."""
    sessions, agents, schedulable, capacity, allocated, age = _empty()
    pending = 0
    for group, name in sorted(snapshot.groups.items(), key=lambda item: item[1]):
        for status in LIVE:
            count = snapshot.sessions.get((group, status), 0)
            sessions.add_metric([status.value, name], count)
            pending += count if status is SessionStatus.PENDING else 0
        for agent_status in AgentStatus:
            agents.add_metric(
                [agent_status.value, name], snapshot.agents.get((group, agent_status), 0)
            )
        schedulable.add_metric([name], snapshot.schedulable.get(group, 0))
        held = snapshot.allocated.get(group, ResourceSlots())
        offered = snapshot.capacity.get(group, ResourceSlots())
        for slot in sorted({*ALWAYS_SHOWN, *held, *offered}):
            capacity.add_metric([slot, name], float(offered[slot]))
            allocated.add_metric([slot, name], float(held[slot]))
        if group in snapshot.oldest_heartbeat:
            seconds = (now - snapshot.oldest_heartbeat[group]).total_seconds()
            age.add_metric([name], max(seconds, 0.0))
    queue = GaugeMetricFamily(
        "shipyard_scheduler_pending_sessions", "Sessions waiting to be scheduled.", value=pending
    )
    yield from (sessions, agents, schedulable, capacity, allocated, queue, age)


def _empty() -> tuple[GaugeMetricFamily, ...]:
    group = ["resource_group"]
    return (
        GaugeMetricFamily(
            "shipyard_sessions",
            "Sessions not yet finished, by status and resource group.",
            labels=["status", *group],
        ),
        GaugeMetricFamily(
            "shipyard_agents", "Agents by status and resource group.", labels=["status", *group]
        ),
        GaugeMetricFamily(
            "shipyard_agents_schedulable",
            "Live agents that accept new sessions, by resource group.",
            labels=group,
        ),
        GaugeMetricFamily(
            "shipyard_slots_capacity",
            "Capacity of live schedulable agents (cpu in cores, mem in bytes, GPUs in devices).",
            labels=["slot", *group],
        ),
        GaugeMetricFamily(
            "shipyard_slots_allocated",
            "Slots held by sessions (cpu in cores, mem in bytes, GPUs in devices).",
            labels=["slot", *group],
        ),
        GaugeMetricFamily(
            "shipyard_agent_heartbeat_age_seconds",
            "Age of the oldest heartbeat among live agents, by resource group.",
            labels=group,
        ),
    )


def _up(value: int) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "shipyard_database_up", "1 when this scrape could read the database, else 0.", value=value
    )


class DatabaseCollector(Collector):
    """Reads a snapshot per scrape; never raises (a failed read reports database_up 0)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            with self.database.session() as db:
                snapshot = read_snapshot(db)
        except Exception:  # the scrape must still answer; the cause goes to the log
            log.warning("metrics: cannot read the database", exc_info=True)
            return [_up(0)]
        return [_up(1), *families(snapshot, now=utcnow())]

    def describe(self) -> Iterable[GaugeMetricFamily]:
        """Names only, so registering does not query the database."""
        sessions, agents, schedulable, capacity, allocated, age = _empty()
        queue = GaugeMetricFamily("shipyard_scheduler_pending_sessions", "", value=0)
        return [_up(0), sessions, agents, schedulable, capacity, allocated, queue, age]
