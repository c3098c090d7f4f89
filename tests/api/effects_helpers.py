"""What the app's commits set off: scheduler wake-ups and agents woken (sessions.effects)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI


class Effects:
    """Records, from now on, each wake of the app's scheduler and each agent notification."""

    def __init__(self, app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
        self.wakes = 0
        self.woken: list[list[str]] = []
        monkeypatch.setattr(app.state.scheduler, "wake", self._wake)
        monkeypatch.setattr(app.state.notifier, "notify", self._notify)

    def _wake(self) -> None:
        self.wakes += 1

    def _notify(self, agent_ids: set[str] | list[str]) -> None:
        self.woken.append(sorted(agent_ids))

    def clear(self) -> None:
        self.wakes, self.woken = 0, []
