"""DESIGN §4: after any sequence of create / schedule / run / finish / fail / terminate /
agent lost, every scope of the ledger equals the sum over occupying sessions, and no limit
or capacity is ever exceeded."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from shipyard.agents.models import Agent, AgentStatus
from shipyard.agents.schemas import SessionReport
from shipyard.db import Database, utcnow
from shipyard.errors import QuotaExceeded
from shipyard.policies.models import OnQuota
from shipyard.resources import ledger
from shipyard.resources.models import Scope
from shipyard.resources.slots import Limits, ResourceSlots
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import recount
from shipyard.sessions import service as sessions
from shipyard.sessions.models import OCCUPYING, ComputeSession, SessionStatus
from tests.factories import Account, Factory, watching_loop

# The ledger's sums against the sessions' rows, after any sequence of changes.
pytestmark = pytest.mark.db

OPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "schedule", "run", "finish", "fail", "terminate", "lose"]),
        st.integers(min_value=0, max_value=1000),
    ),
    min_size=5,
    max_size=40,
)


class World:
    def __init__(self, database: Database, factory: Factory) -> None:
        self.database = database
        self.agents = [factory.agent(cpu="4", mem="8g", gpus=1) for _ in range(3)]
        self.users: list[Account] = [factory.user() for _ in range(3)]
        factory.user_policy(self.users[0].user, slots={"cpu": "3"}, on_quota=OnQuota.QUEUE)
        factory.user_policy(self.users[1].user, max_sessions=2, on_quota=OnQuota.QUEUE)
        self.factory = factory

    def apply(self, op: str, pick: int) -> None:
        getattr(self, op)(pick)

    def create(self, pick: int) -> None:
        owner = self.users[pick % len(self.users)].user
        with contextlib.suppress(QuotaExceeded):
            self.factory.session(owner, cpu=str(1 + pick % 2), gpus=pick % 3 // 2)

    def schedule(self, _pick: int) -> None:
        with self.database.session() as db:
            schedule_once(db)

    def _one(self, pick: int, statuses: frozenset[SessionStatus]) -> ComputeSession | None:
        with self.database.session() as db:
            found = list(
                db.scalars(
                    select(ComputeSession)
                    .where(ComputeSession.status.in_(statuses))
                    .order_by(ComputeSession.created_at, ComputeSession.id)
                )
            )
        return found[pick % len(found)] if found else None

    def _report(self, session: ComputeSession, report: SessionReport | None) -> None:
        with self.database.session() as db:
            agent = db.get(Agent, session.agent_id)
            assert agent is not None
            others = [
                SessionReport(session_id=s.id, running=True)
                for s in db.scalars(
                    select(ComputeSession).where(
                        ComputeSession.agent_id == agent.id,
                        ComputeSession.status.in_(OCCUPYING),
                        ComputeSession.id != session.id,
                    )
                )
                if s.status is SessionStatus.RUNNING
            ]
            sessions.apply_reports(
                db, agent=agent, reports=[*others, *([report] if report else [])]
            )
            db.commit()

    def run(self, pick: int) -> None:
        session = self._one(pick, frozenset({SessionStatus.SCHEDULED, SessionStatus.PREPARING}))
        if session:
            self._report(session, SessionReport(session_id=session.id, running=True))

    def finish(self, pick: int) -> None:
        session = self._one(pick, OCCUPYING)
        if session:
            self._report(session, SessionReport(session_id=session.id, running=False, exit_code=0))

    def fail(self, pick: int) -> None:
        session = self._one(pick, OCCUPYING)
        if session:
            report = SessionReport(session_id=session.id, running=False, oom_killed=True)
            self._report(session, report)

    def terminate(self, pick: int) -> None:
        session = self._one(pick, frozenset({SessionStatus.PENDING, *OCCUPYING}))
        if session:
            with self.database.session() as db:
                owner = db.get(type(self.users[0].user), session.owner_id)
                assert owner is not None
                sessions.terminate(db, viewer=owner, session_id=session.id)

    def lose(self, pick: int) -> None:
        agent = self.agents[pick % len(self.agents)]
        with self.database.session() as db:
            db.execute(
                update(Agent)
                .where(Agent.id == agent.id)
                .values(last_heartbeat_at=utcnow() - timedelta(hours=1))
            )
            db.commit()
        watching_loop(self.database).housekeeping()
        with self.database.session() as db:  # it comes back at once, empty
            db.execute(
                update(Agent)
                .where(Agent.id == agent.id)
                .values(status=AgentStatus.ALIVE, last_heartbeat_at=utcnow())
            )
            db.commit()


def check_invariant(database: Database, world: World) -> None:
    with database.session() as db:
        occupying = list(
            db.scalars(select(ComputeSession).where(ComputeSession.status.in_(OCCUPYING)))
        )
        expected: dict[Scope, dict[str, ledger.Held]] = defaultdict(dict)
        for session in occupying:
            for scope, scope_id in ledger.scopes_of(session):
                before = expected[scope].get(scope_id, ledger.EMPTY)
                expected[scope][scope_id] = ledger.Held(
                    before.slots + session.slots, before.sessions + 1
                )
        totals = []
        for scope in Scope:
            recorded = {
                scope_id: held
                for scope_id, held in ledger.held_by_all(db, scope).items()
                if held != ledger.EMPTY
            }
            assert recorded == expected[scope], scope
            totals.append(sum((h.slots for h in recorded.values()), ResourceSlots()))
        assert all(total == totals[0] for total in totals), "scopes disagree"
        assert recount.rebuild(db) == []
        db.rollback()
        for agent in world.agents:
            held = ledger.held(db, Scope.AGENT, [agent.id])[agent.id]
            assert held.slots.fits_in(agent.capacity_slots), "agent over capacity"
        capped = ledger.held(db, Scope.USER, [str(world.users[0].user.id)])
        assert Limits({"cpu": "3"}).allows(capped[str(world.users[0].user.id)].slots)
        assert (
            ledger.held(db, Scope.USER, [str(world.users[1].user.id)])[
                str(world.users[1].user.id)
            ].sessions
            <= 2
        )


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_the_ledger_always_equals_the_occupying_sessions(
    database: Database, factory: Factory, ops: list[tuple[str, int]]
) -> None:
    world = World(database, factory)
    for op, pick in ops:
        world.apply(op, pick)
        check_invariant(database, world)
