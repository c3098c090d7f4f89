"""What a committed change to sessions sets off: a scheduling round and the agents' long-polls.

Writers record it on the db Session as they write: lifecycle.move and create_session ask for
a round (wake_scheduler), agents.bump_many names the agents whose desired state changed.
Once that transaction commits, whoever commits it, the hooks watch() installed run it: no
route has to remember. A rolled-back transaction sets off nothing.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import event as orm_events
from sqlalchemy.orm import Session, SessionTransaction

if TYPE_CHECKING:
    from shipyard.agents.notifier import Notifier
    from shipyard.db import Database

#: Session.info key: this transaction asks for a scheduling round once it commits
WAKE = "shipyard.wake_scheduler"


class Scheduler(Protocol):
    """What is woken (shipyard.scheduler.loop.SchedulerLoop in the manager)."""

    def wake(self) -> None: ...


def wake_scheduler(db: Session) -> None:
    """Ask for a scheduling round once db's transaction commits (none if it rolls back)."""
    if not db.in_transaction():
        db.begin()  # so that a rollback, even before any statement, takes the request back
    db.info[WAKE] = True


def watch(database: Database, *, notifier: Notifier, scheduler: Scheduler) -> None:
    """Run the effects of every commit on `database`; once per database (app.bind does it)."""
    notifier.watch(database)  # agents hear of every committed bump
    orm_events.listen(database.sessions, "after_commit", partial(_committed, scheduler))
    orm_events.listen(database.sessions, "after_transaction_end", _forget)


def _committed(scheduler: Scheduler, db: Session) -> None:
    if db.info.get(WAKE) and not db.in_nested_transaction():  # a savepoint commits nothing
        scheduler.wake()


def _forget(db: Session, transaction: SessionTransaction) -> None:
    """A transaction is over (after its commit, or rolled back): its request is spent."""
    if transaction.parent is None:
        db.info.pop(WAKE, None)
