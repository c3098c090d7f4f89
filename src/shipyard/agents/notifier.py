"""Wakes long-polling agents in this process when their desired state changes."""

from __future__ import annotations

import asyncio
from collections import defaultdict


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

    def notify(self, agent_ids: set[str] | list[str]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        for agent_id in agent_ids:
            for event in list(self._events.get(agent_id, ())):
                loop.call_soon_threadsafe(event.set)
