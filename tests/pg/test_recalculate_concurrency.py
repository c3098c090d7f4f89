"""Recalculating usage while sessions start and stop on PostgreSQL: every change is counted
exactly once (the rebuild holds the ledger lock), so no false drift and none left behind."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from shipyard.config import Settings
from shipyard.db import Database
from shipyard.maintenance.jobs import recalculate_usage
from shipyard.maintenance.models import AdminTask, TaskKind, TaskStatus
from shipyard.maintenance.work import Progress, Work
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import recount
from shipyard.sessions import service as sessions
from tests.factories import Factory

ROUNDS = 15


def test_recalculate_during_starts_and_stops_finds_no_drift(
    database: Database, settings: Settings, factory: Factory
) -> None:
    factory.agent(cpu="64", mem="64g")
    owners = [factory.user() for _ in range(4)]
    for owner in owners:  # sessions stay TERMINATING (no agent runs): no session limit
        factory.user_policy(owner.user, max_sessions=100_000, max_pending=100_000)
    stop = threading.Event()
    scheduler = threading.Lock()  # one scheduler at a time, as the advisory lock ensures

    def churn(index: int) -> None:
        owner = owners[index % len(owners)].user
        while not stop.is_set():
            session = factory.session(owner, cpu="1", mem="256m")
            with scheduler, database.session() as db:
                schedule_once(db)
            with database.session() as db:
                sessions.terminate(db, viewer=db.merge(owner), session_id=session.id)

    with database.session() as db:
        task = AdminTask(kind=TaskKind.RECALCULATE_USAGE, status=TaskStatus.RUNNING)
        db.add(task)
        db.commit()
    found: list[list[dict[str, str]]] = []
    with ThreadPoolExecutor(4) as pool:
        workers = [pool.submit(churn, index) for index in range(3)]
        for _round in range(ROUNDS):
            with database.session() as db:
                work = Work(db, settings, None, Progress(db, task.id))
                found.append(recalculate_usage(work)["drifts"])
                db.commit()
        stop.set()
        for worker in workers:
            worker.result()
    assert found == [[]] * ROUNDS
    with database.session() as db:
        assert recount.rebuild(db) == []
