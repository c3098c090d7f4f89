"""Wakes long-polling agents in this process when their desired state changes."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import event as orm_events
from sqlalchemy.orm import Session, SessionTransaction

if TYPE_CHECKING:
    from shipyard.db import Database

#: Session.info key: agents whose desired state this transaction changed (agents.service.bump)
BUMPED = "shipyard.bumped_agents"


class Notifier:
    """Per-agent wake-up events; notify() may be called from any thread."""

    def __init__(self) -> None:
        self._events: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    async def wait(self, agent_id: str, timeout: float) -> None:
        """Return when notified for agent_id or after timeout seconds."""
        self._loop = asyncio.get_running_loop()
        event = asyncio.Event()
        self._events[agent_id].add(event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self._events[agent_id].discard(event)

    def watch(self, database: Database) -> None:
        """Notify the agents a transaction bumped once it commits, whoever committed it:
        no caller has to remember to (a rolled-back bump notifies nobody)."""
        orm_events.listen(database.sessions, "after_commit", self._committed)
        orm_events.listen(database.sessions, "after_transaction_end", _forget)

    def _committed(self, db: Session) -> None:
        bumped = db.info.get(BUMPED)
        if bumped and not db.in_nested_transaction():  # a savepoint commits nothing yet
            self.notify(sorted(bumped))

    def notify(self, agent_ids: set[str] | list[str]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        for agent_id in agent_ids:
            for event in list(self._events.get(agent_id, ())):
                loop.call_soon_threadsafe(event.set)


def _forget(db: Session, transaction: SessionTransaction) -> None:
    """A transaction is over (after its commit, or rolled back): its bumps are told."""
    if transaction.parent is None:
        db.info.pop(BUMPED, None)
