"""The scheduler's driver: runs a round when woken (or every tick), plus housekeeping.

Housekeeping marks agents LOST after missed heartbeats (their sessions end and give their
resources back) and stops sessions past their lifetime. With PostgreSQL only the manager
holding the advisory lock schedules, so several managers can share one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from sqlalchemy import Connection, text
from starlette.concurrency import run_in_threadpool

from shipyard.agents import service as agents
from shipyard.agents.notifier import Notifier
from shipyard.db import Database, utcnow
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import service as sessions

log = logging.getLogger(__name__)
ADVISORY_KEY = 0x5348_4950  # "SHIP"


class RoundMeter(Protocol):
    """Where a round's figures go (shipyard.metrics.registry.Metrics in the manager)."""

    def observe_round(self, *, waits: list[float], seconds: float) -> None: ...


class SchedulerLoop:
    def __init__(
        self,
        database: Database,
        notifier: Notifier,
        *,
        tick: float = 2.0,
        lost_after: float = 30.0,
        housekeeping_every: float = 2.0,
        metrics: RoundMeter | None = None,
    ) -> None:
        self.database = database
        self.notifier = notifier
        self.tick = tick
        self.lost_after = lost_after
        self.housekeeping_every = housekeeping_every
        self.metrics = metrics
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock_connection: Connection | None = None
        self._has_lock = False
        self._last_housekeeping = 0.0
        self.started_at = utcnow()  # agents are judged lost only on silence seen since then

    def wake(self) -> None:
        """Ask for a round soon; safe to call from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.notifier.bind(self._loop)
        self._task = asyncio.create_task(self._run(), name="shipyard-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._lock_connection is not None:
            await run_in_threadpool(self._lock_connection.close)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick)
            self._wake.clear()
            try:
                await run_in_threadpool(self.run_round)
            except Exception:  # keep scheduling after a failed round; it is logged
                log.exception("scheduling round failed")

    def run_round(self) -> None:
        """One round (thread): housekeeping when due, then placement; wakes touched agents."""
        if not self._holds_lock():
            return
        started = time.perf_counter()
        touched: set[str] = set()
        if time.monotonic() - self._last_housekeeping >= self.housekeeping_every:
            touched |= self.housekeeping()
            self._last_housekeeping = time.monotonic()
        with self.database.session() as db:
            result = schedule_once(db)
        if self.metrics is not None:
            self.metrics.observe_round(waits=result.waits, seconds=time.perf_counter() - started)
        touched |= result.agents_touched
        if touched:
            self.notifier.notify(touched)

    def housekeeping(self) -> set[str]:
        with self.database.session() as db:
            lost = agents.lost_agents(
                db, lost_after=self.lost_after, watching_since=self.started_at
            )
            for agent in lost:
                ended = sessions.end_sessions_of_lost(db, agent)
                log.warning("agent %s is lost; %d sessions ended", agent.id, ended)
            sessions.expire(db)
            db.commit()
        return {agent.id for agent in lost}

    def _holds_lock(self) -> bool:
        if self.database.engine.dialect.name != "postgresql":
            return True
        if self._lock_connection is None:
            self._lock_connection = self.database.engine.connect()
            self._has_lock = False
        query = "SELECT 1" if self._has_lock else "SELECT pg_try_advisory_lock(:key)"
        try:  # a session-level lock lives as long as this connection
            held = self._lock_connection.execute(text(query), {"key": ADVISORY_KEY}).scalar()
            self._lock_connection.commit()
        except Exception:
            self._lock_connection.close()
            self._lock_connection = None
            raise
        self._has_lock = bool(held)
        return self._has_lock
