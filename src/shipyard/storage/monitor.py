"""Storage upkeep in the background, off every request's path.

On start it finishes emptying the trash a previous process left; then, every `interval`
seconds, it removes expired uploads and staged files no upload owns, and measures the folders
whose usage is oldest (removing older versions' orphaned upload files found on the way). Each
step runs in a worker thread and a failure is logged and tried again next time: storage
trouble never stops the manager.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool

from shipyard.background import Periodic
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.storage import hosts, uploads
from shipyard.storage import service as folders

log = logging.getLogger(__name__)


class StorageMonitor(Periodic):
    name = "shipyard-storage"

    def __init__(self, database: Database, settings: Settings, *, interval: float = 10.0) -> None:
        super().__init__(interval=interval)
        self.database = database
        self.settings = settings

    async def start(self) -> None:
        await run_in_threadpool(hosts.sweep_trash, self.settings)
        await super().start()

    def run_once(self) -> None:
        """One round: expired and orphaned uploads, then a batch of folder measurements."""
        try:
            with self.database.session() as db:
                uploads.expire(db, self.settings)
                uploads.sweep_staging(db, self.settings)
                folders.measure_due(db, self.settings)
        except Exception:
            log.exception("storage upkeep failed; trying again in %s s", self.interval)
