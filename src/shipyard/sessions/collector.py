"""Copies sessions' output from their agents to the manager in the background (see logs.py).

Every `interval` seconds, in a worker thread with transactions of its own, it pulls what
running sessions printed since the last round, and what ended ones printed last; a failure
is logged and tried again next round. With several managers each may run a round at the
same time: an append lands once (logs.py's compare and set), so they only share the work.
"""

from __future__ import annotations

import logging

from shipyard.background import Periodic
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.sessions import logs

log = logging.getLogger(__name__)


class LogCollector(Periodic):
    name = "shipyard-log-collector"

    def __init__(self, database: Database, settings: Settings, *, interval: float = 5.0) -> None:
        super().__init__(interval=interval)
        self.database = database
        self.settings = settings

    def run_once(self) -> None:
        """One round over every session whose agent may have output the manager lacks."""
        try:
            with self.database.session() as db:
                logs.collect_due(db, self.settings)
        except Exception:
            log.exception("collecting session output failed; trying again in %s s", self.interval)
