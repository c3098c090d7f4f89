"""Copies sessions' output from their agents to the manager in the background (see logs.py).

Every `interval` seconds, in a worker thread with transactions of its own, it pulls what
running sessions printed since the last round, and what ended ones printed last; a failure
is logged and tried again next round. With several managers each may run a round at the
same time: an append lands once (logs.py's compare and set), so they only share the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.concurrency import run_in_threadpool

from shipyard.config import Settings
from shipyard.db import Database
from shipyard.sessions import logs

log = logging.getLogger(__name__)


class LogCollector:
    def __init__(self, database: Database, settings: Settings, *, interval: float = 5.0) -> None:
        self.database = database
        self.settings = settings
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="shipyard-log-collector")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await run_in_threadpool(self.run_once)
            await asyncio.sleep(self.interval)

    def run_once(self) -> None:
        """One round over every session whose agent may have output the manager lacks."""
        try:
            with self.database.session() as db:
                logs.collect_due(db, self.settings)
        except Exception:
            log.exception("collecting session output failed; trying again in %s s", self.interval)
