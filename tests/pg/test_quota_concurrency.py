"""Many clients at once on PostgreSQL: no limit is ever exceeded, the ledger stays exact."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from shipyard.agents.notifier import Notifier
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.errors import QuotaExceeded
from shipyard.policies.models import OnQuota
from shipyard.resources import ledger
from shipyard.resources.models import Scope
from shipyard.scheduler.loop import SchedulerLoop
from shipyard.sessions import recount
from shipyard.sessions.models import ComputeSession, SessionStatus
from tests.factories import Factory

CLIENTS = 12


def in_parallel(count: int, action: object) -> list[str]:
    barrier = threading.Barrier(count)

    def run(_: int) -> str:
        barrier.wait()
        try:
            action()  # type: ignore[operator]
        except QuotaExceeded as exc:
            return exc.code
        return "created"

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_parallel_creates_never_exceed_the_pending_limit(
    database: Database, factory: Factory
) -> None:
    factory.agent(cpu="1")
    owner = factory.user().user
    factory.user_policy(owner, max_pending=3, on_quota=OnQuota.QUEUE)
    outcomes = in_parallel(CLIENTS, lambda: factory.session(owner, cpu="1"))
    assert outcomes.count("created") == 3
    assert outcomes.count("quota_exceeded") == CLIENTS - 3
    with database.session() as db:
        pending = db.scalar(
            select(func.count())
            .select_from(ComputeSession)
            .where(ComputeSession.status == SessionStatus.PENDING)
        )
    assert pending == 3


def test_parallel_creates_and_two_schedulers_never_over_allocate(
    database: Database, settings: Settings, factory: Factory
) -> None:
    factory.agent(cpu="4")
    factory.agent(cpu="4")
    owners = [factory.user().user for _ in range(3)]
    for owner in owners:
        factory.user_policy(owner, slots={"cpu": "3"}, on_quota=OnQuota.QUEUE)
    turns = itertools.count()
    in_parallel(CLIENTS, lambda: factory.session(owners[next(turns) % 3], cpu="1"))

    managers = [Database(settings.effective_database_url) for _ in range(2)]
    loops = [SchedulerLoop(manager, Notifier()) for manager in managers]
    try:
        for _round in range(3):
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda loop: loop.run_round(), loops))
        assert sum(loop._has_lock for loop in loops) == 1
    finally:
        for loop, manager in zip(loops, managers, strict=True):
            if loop._lock_connection is not None:
                loop._lock_connection.close()
            manager.dispose()

    with database.session() as db:
        for owner in owners:
            held = ledger.held(db, Scope.USER, [str(owner.id)])[str(owner.id)]
            assert held.slots["cpu"] <= 3
        for agent_id, held in ledger.held_by_all(db, Scope.AGENT).items():
            assert held.slots["cpu"] <= 4, agent_id
        assert recount.rebuild(db) == []
        placed = db.scalar(
            select(func.count())
            .select_from(ComputeSession)
            .where(ComputeSession.status == SessionStatus.SCHEDULED)
        )
    assert placed == 8  # 12 requests, 4 per user: each user gets 3, the agents have 8 cores
