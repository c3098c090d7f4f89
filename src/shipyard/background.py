"""A round of background work every few seconds, off every request's path.

Each round runs in a worker thread (the work is blocking: database, files, agents); a
failure is logged by the subclass and the next round tries again. `start`/`stop` are wired
in app.py's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.concurrency import run_in_threadpool


class Periodic:
    """Runs `run_once` every `interval` seconds from `start()` until `stop()`."""

    name = "shipyard-background"

    def __init__(self, *, interval: float) -> None:
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

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
        """One round; catches and logs its own failures."""
        raise NotImplementedError
