"""Shared setup for the maintenance tests: busy sessions, a corrupted ledger, task doubles."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from sqlalchemy import delete, update

from shipyard.db import Database
from shipyard.maintenance.jobs import JOBS
from shipyard.maintenance.models import TaskKind
from shipyard.maintenance.runner import Runner
from shipyard.maintenance.work import Work
from shipyard.resources.models import Scope, Usage
from shipyard.scheduler.service import schedule_once
from shipyard.users.models import User
from tests.factories import Account, Factory

BOGUS_USER = str(uuid.UUID(int=7))
DEADLINE = 30.0


@dataclass(frozen=True)
class Busy:
    """Two users with scheduled (occupying) sessions on one agent."""

    agent_id: str
    alice: Account
    bob: Account


def busy(factory: Factory, database: Database) -> Busy:
    agent = factory.agent(cpu="8", mem="16g")
    alice, bob = factory.user(), factory.user()
    factory.session(alice.user, cpu="2", mem="1g")
    factory.session(alice.user, cpu="1", mem="1g")
    factory.session(bob.user, cpu="1.5", mem="2g")
    with database.session() as db:
        schedule_once(db)
    return Busy(agent_id=agent.id, alice=alice, bob=bob)


def corrupt(database: Database, world: Busy) -> None:
    """Three kinds of damage: a wrong amount, a bogus row, a missing row."""
    with database.session() as db:
        db.execute(
            update(Usage)
            .where(
                Usage.scope == Scope.USER,
                Usage.scope_id == str(world.alice.user.id),
                Usage.slot == "cpu",
            )
            .values(amount=Usage.amount + 5000)
        )
        db.merge(Usage(scope=Scope.USER, scope_id=BOGUS_USER, slot="cpu", amount=4000))
        db.execute(
            delete(Usage).where(
                Usage.scope == Scope.AGENT, Usage.scope_id == world.agent_id, Usage.slot == "mem"
            )
        )
        db.commit()


def expected_drifts(world: Busy) -> list[tuple[str, str, str, str, str]]:
    """(scope, name, slot, recorded, actual) of the damage corrupt() does."""
    return sorted(
        [
            ("agent", f"{world.agent_id} (test-node)", "mem", "0", str(4 * 2**30)),
            ("user", world.alice.email, "cpu", "8", "3"),
            ("user", BOGUS_USER, "cpu", "4", "0"),
        ]
    )


def drift_tuples(result: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    return sorted(
        (d["scope"], d["name"], d["slot"], d["recorded"], d["actual"]) for d in result["drifts"]
    )


def sessions_total(sessions: list[dict[str, Any]], slot: str) -> Decimal:
    """What the Sessions API says occupying sessions hold of a slot."""
    occupying = {"SCHEDULED", "PREPARING", "RUNNING", "TERMINATING"}
    return sum(
        (Decimal(s["resources"].get(slot, "0")) for s in sessions if s["status"] in occupying),
        Decimal(0),
    )


def wait_until(
    check: Callable[[], dict[str, Any]], *, done: Callable[[dict[str, Any]], bool]
) -> Any:
    """Poll `check` until `done` says so (the runner is a real background thread)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        found = check()
        if done(found):
            return found
        assert time.monotonic() < deadline, f"task did not end: {found}"
        time.sleep(0.05)


class Gate:
    """A job double that reports progress, then waits until the test opens the gate."""

    def __init__(self, *, steps: int = 4, held_at: int = 2) -> None:
        self.steps = steps
        self.held_at = held_at
        self.reached = threading.Event()
        self.opened = threading.Event()

    def __call__(self, work: Work) -> dict[str, Any]:
        for step in range(self.steps + 1):
            work.progress(done=step, total=self.steps)
            if step == self.held_at:
                self.reached.set()
                assert self.opened.wait(DEADLINE), "the test never opened the gate"
        return {"added": ["gated-env"], "kept": [], "disabled": []}


def install_gate(app: FastAPI, database: Database, gate: Gate) -> None:
    """The app's runner with the rescan job replaced by the gate (the rest stays real)."""
    jobs = {**JOBS, TaskKind.RESCAN_ENVIRONMENTS: gate}
    app.state.task_runner = Runner(database, app.state.settings, jobs=jobs)


def failing_job(work: Work) -> dict[str, Any]:
    work.progress(done=0, total=1)
    raise RuntimeError("disk on fire at /secret/path")


def install_jobs(
    app: FastAPI, database: Database, **jobs: Callable[[Work], dict[str, Any]]
) -> None:
    chosen = {**JOBS, **{TaskKind(kind): job for kind, job in jobs.items()}}
    app.state.task_runner = Runner(database, app.state.settings, jobs=chosen)


def user_of(database: Database, account: Account) -> User:
    with database.session() as db:
        found = db.get(User, account.user.id)
        assert found is not None
        return found
