"""After-commit effects (shipyard.sessions.effects): what a transaction asks for runs once it
commits, whoever commits it, and never after a rollback or at a savepoint."""

from __future__ import annotations

import pytest

from shipyard.agents import service as agents
from shipyard.agents.notifier import Notifier
from shipyard.db import Database
from shipyard.sessions import effects

# After-commit hooks: what runs on commit, and never after a rollback.
pytestmark = pytest.mark.db


class Scheduler:
    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


class RecordingNotifier(Notifier):
    def __init__(self) -> None:
        super().__init__()
        self.woken: list[list[str]] = []

    def notify(self, agent_ids: set[str] | list[str]) -> None:
        self.woken.append(sorted(agent_ids))


def test_a_wake_runs_once_its_transaction_commits_and_never_after_a_rollback(
    database: Database,
) -> None:
    scheduler = Scheduler()
    effects.watch(database, notifier=Notifier(), scheduler=scheduler)

    with database.session() as db:
        effects.wake_scheduler(db)
        assert scheduler.wakes == 0  # not before the change is visible
        db.commit()
        assert scheduler.wakes == 1
        db.commit()
        assert scheduler.wakes == 1  # spent
        effects.wake_scheduler(db)
        db.rollback()
        db.commit()

    assert scheduler.wakes == 1


def test_a_savepoint_sets_nothing_off_until_the_whole_transaction_commits(
    database: Database,
) -> None:
    scheduler, notifier = Scheduler(), RecordingNotifier()
    effects.watch(database, notifier=notifier, scheduler=scheduler)

    with database.session() as db:
        with db.begin_nested():
            effects.wake_scheduler(db)
            agents.bump_many(db, ["node-a"])
        assert (scheduler.wakes, notifier.woken) == (0, [])
        db.commit()

    assert (scheduler.wakes, notifier.woken) == (1, [["node-a"]])
