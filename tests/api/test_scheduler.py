"""The scheduler and the ledger: admission, placement, lifecycle, lost agents."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from shipyard.agents.models import Agent, Placement, ResourceGroup
from shipyard.agents.schemas import SessionReport
from shipyard.db import Database, utcnow
from shipyard.errors import QuotaExceeded
from shipyard.policies.models import OnQuota
from shipyard.resources import ledger
from shipyard.resources.models import Scope
from shipyard.resources.slots import ResourceSlots
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import service as sessions
from shipyard.sessions.models import ComputeSession, SessionStatus, SessionType
from tests.factories import Factory, watching_loop

# Placement and the ledger: sums, row locks and time comparisons in SQL.
pytestmark = pytest.mark.db


def run_round(database: Database) -> None:
    with database.session() as db:
        schedule_once(db)


def status_of(database: Database, session: ComputeSession) -> ComputeSession:
    with database.session() as db:
        found = db.get(ComputeSession, session.id)
        assert found is not None
        return found


def held(database: Database, scope: Scope, scope_id: str) -> ledger.Held:
    with database.session() as db:
        return ledger.held(db, scope, [scope_id])[scope_id]


def report(database: Database, agent: Agent, *reports: SessionReport) -> None:
    with database.session() as db:
        sessions.apply_reports(db, agent=db.merge(agent), reports=reports)
        db.commit()


def test_a_session_is_placed_and_held_in_every_scope(database: Database, factory: Factory) -> None:
    agent = factory.agent(cpu="4", mem="8g")
    owner = factory.user().user
    session = factory.session(owner, cpu="1.5", mem="2g")
    assert status_of(database, session).status is SessionStatus.PENDING
    run_round(database)
    placed = status_of(database, session)
    assert placed.status is SessionStatus.SCHEDULED
    assert placed.agent_id == agent.id
    expected = ResourceSlots.parse(["cpu=1.5", "mem=2g"])
    for scope, scope_id in (
        (Scope.USER, str(owner.id)),
        (Scope.PROJECT, str(placed.project_id)),
        (Scope.GROUP, str(placed.resource_group_id)),
        (Scope.AGENT, agent.id),
    ):
        assert held(database, scope, scope_id) == ledger.Held(expected, 1)


def test_reports_move_the_session_and_give_resources_back(
    database: Database, factory: Factory
) -> None:
    agent = factory.agent()
    owner = factory.user().user
    session = factory.session(owner)
    run_round(database)
    report(database, agent, SessionReport(session_id=session.id, running=True))
    assert status_of(database, session).status is SessionStatus.RUNNING
    assert status_of(database, session).started_at is not None
    report(database, agent, SessionReport(session_id=session.id, running=False, exit_code=0))
    done = status_of(database, session)
    assert done.status is SessionStatus.TERMINATED
    assert done.exit_code == 0
    assert [event["status"] for event in done.history] == [
        "PENDING",
        "SCHEDULED",
        "RUNNING",
        "TERMINATED",
    ]
    assert held(database, Scope.AGENT, agent.id) == ledger.EMPTY
    assert held(database, Scope.USER, str(owner.id)) == ledger.EMPTY


@pytest.mark.parametrize(
    ("fields", "status", "reason"),
    [
        ({"exit_code": 3}, SessionStatus.ERROR, "Exited with code 3."),
        ({"exit_code": 137, "oom_killed": True}, SessionStatus.ERROR, "out of memory"),
        ({"exit_code": 127, "error": "failed to start: nope"}, SessionStatus.ERROR, "failed"),
    ],
)
def test_failures_end_with_a_reason(
    database: Database,
    factory: Factory,
    fields: dict[str, object],
    status: SessionStatus,
    reason: str,
) -> None:
    agent = factory.agent()
    session = factory.session(factory.user().user)
    run_round(database)
    report(database, agent, SessionReport(session_id=session.id, running=False, **fields))
    done = status_of(database, session)
    assert done.status is status
    assert reason in done.status_info
    assert done.exit_code == fields["exit_code"]


def test_a_user_limit_queues_or_refuses_as_the_policy_says(
    database: Database, factory: Factory
) -> None:
    factory.agent(cpu="16")
    queued = factory.user().user
    factory.user_policy(queued, slots={"cpu": "2"}, on_quota=OnQuota.QUEUE)
    first, second, third = (factory.session(queued) for _ in range(3))
    run_round(database)
    assert [status_of(database, s).status for s in (first, second, third)] == [
        SessionStatus.SCHEDULED,
        SessionStatus.SCHEDULED,
        SessionStatus.PENDING,
    ]
    assert status_of(database, third).status_info == (
        "CPU: this asks for 1 core, but your limit of 2 cores leaves 0 cores (2 cores in use)."
    )

    refused = factory.user().user
    factory.user_policy(refused, slots={"cpu": "1"})
    factory.session(refused)
    run_round(database)
    with pytest.raises(QuotaExceeded) as error:
        factory.session(refused)
    assert error.value.details["blocked_by"][0]["limit"] == "user"
    assert held(database, Scope.USER, str(refused.id)).slots["cpu"] == 1


def test_the_session_count_limit_holds(database: Database, factory: Factory) -> None:
    factory.agent(cpu="16")
    owner = factory.user().user
    factory.user_policy(owner, max_sessions=2, on_quota=OnQuota.QUEUE)
    created = [factory.session(owner) for _ in range(3)]
    run_round(database)
    statuses = [status_of(database, s).status for s in created]
    assert statuses.count(SessionStatus.SCHEDULED) == 2
    assert "at most 2 sessions" in status_of(database, created[2]).status_info


def test_pending_limit_refuses_more_requests(database: Database, factory: Factory) -> None:
    factory.agent(cpu="1")
    owner = factory.user().user
    factory.user_policy(owner, max_pending=1, on_quota=OnQuota.QUEUE)
    factory.session(owner, cpu="1")  # pending until the next round
    with pytest.raises(QuotaExceeded, match="pending"):
        factory.session(owner, cpu="1")
    run_round(database)
    factory.session(owner, cpu="1")  # the first one was placed: room for one pending again


def test_backfill_places_small_requests_behind_a_big_one(
    database: Database, factory: Factory
) -> None:
    factory.agent(cpu="4")
    factory.agent(cpu="4")
    owner = factory.user().user
    busy = factory.session(owner, cpu="3")
    run_round(database)
    big = factory.session(owner, cpu="4")  # fits one agent's capacity, not its free space now
    small = factory.session(owner, cpu="1")
    run_round(database)
    assert status_of(database, busy).status is SessionStatus.SCHEDULED
    assert status_of(database, big).status is SessionStatus.SCHEDULED
    assert status_of(database, small).status is SessionStatus.SCHEDULED


@pytest.mark.parametrize(("placement", "same_agent"), [("binpack", True), ("spread", False)])
def test_placement_binpack_or_spread(
    database: Database, factory: Factory, placement: str, same_agent: bool
) -> None:
    with database.session() as db:
        db.execute(update(ResourceGroup).values(placement=Placement(placement)))
        db.commit()
    factory.agent(cpu="8")
    factory.agent(cpu="8")
    owner = factory.user().user
    first = factory.session(owner, cpu="1")
    run_round(database)
    second = factory.session(owner, cpu="1")
    run_round(database)
    agents = {status_of(database, s).agent_id for s in (first, second)}
    assert (len(agents) == 1) is same_agent


def test_gpus_are_counted_and_never_overcommitted(database: Database, factory: Factory) -> None:
    agent = factory.agent(cpu="32", mem="64g", gpus=2)
    owner = factory.user().user
    created = [factory.session(owner, gpus=1) for _ in range(3)]
    run_round(database)
    statuses = [status_of(database, s).status for s in created]
    assert statuses.count(SessionStatus.SCHEDULED) == 2
    assert held(database, Scope.AGENT, agent.id).slots["cuda.device"] == 2


def test_a_lost_agent_ends_its_sessions_and_frees_the_ledger(
    database: Database, factory: Factory
) -> None:
    agent = factory.agent()
    owner = factory.user().user
    session = factory.session(owner)
    run_round(database)
    report(database, agent, SessionReport(session_id=session.id, running=True))
    with database.session() as db:
        db.execute(
            update(Agent)
            .where(Agent.id == agent.id)
            .values(last_heartbeat_at=utcnow() - timedelta(seconds=31))
        )
        db.commit()
    loop = watching_loop(database)
    assert loop.housekeeping() == {agent.id}
    lost = status_of(database, session)
    assert lost.status is SessionStatus.ERROR
    assert lost.status_info == "The agent was lost."
    assert held(database, Scope.USER, str(owner.id)) == ledger.EMPTY
    with database.session() as db:
        assert db.get(Agent, agent.id).status.value == "LOST"  # type: ignore[union-attr]


def test_terminate_cancels_pending_and_stops_running(database: Database, factory: Factory) -> None:
    agent = factory.agent(cpu="1")
    owner = factory.user().user
    running = factory.session(owner, cpu="1")
    run_round(database)
    waiting = factory.session(owner, cpu="1")
    with database.session() as db:
        sessions.terminate(db, viewer=db.merge(owner), session_id=waiting.id)
        sessions.terminate(db, viewer=db.merge(owner), session_id=running.id)
    assert status_of(database, waiting).status is SessionStatus.CANCELLED
    assert status_of(database, running).status is SessionStatus.TERMINATING
    assert held(database, Scope.AGENT, agent.id).sessions == 1
    report(database, agent)  # the agent no longer lists it: it has stopped
    assert status_of(database, running).status is SessionStatus.TERMINATED
    assert held(database, Scope.AGENT, agent.id) == ledger.EMPTY


@pytest.mark.parametrize(
    ("kind", "column", "reason"),
    [
        (SessionType.BATCH, "max_lifetime", "Maximum lifetime reached."),
        (SessionType.INTERACTIVE, "idle_timeout", "Idle for too long."),
    ],
)
def test_lifetime_and_idle_timeout_stop_sessions(
    database: Database, factory: Factory, kind: SessionType, column: str, reason: str
) -> None:
    agent = factory.agent()
    session = factory.session(factory.user().user, kind=kind)
    run_round(database)
    report(database, agent, SessionReport(session_id=session.id, running=True))
    with database.session() as db:
        db.execute(
            update(ComputeSession)
            .where(ComputeSession.id == session.id)
            .values({column: 60, "started_at": utcnow() - timedelta(minutes=2)})
        )
        db.commit()
        assert sessions.expire(db) == 1
        db.commit()
    stopped = status_of(database, session)
    assert stopped.status is SessionStatus.TERMINATING
    assert stopped.status_info == reason


def test_recent_activity_keeps_an_interactive_session(database: Database, factory: Factory) -> None:
    agent = factory.agent()
    session = factory.session(factory.user().user, kind=SessionType.INTERACTIVE)
    run_round(database)
    report(database, agent, SessionReport(session_id=session.id, running=True))
    with database.session() as db:
        db.execute(
            update(ComputeSession)
            .where(ComputeSession.id == session.id)
            .values(
                idle_timeout=60,
                started_at=utcnow() - timedelta(minutes=10),
                last_activity_at=utcnow() - timedelta(seconds=5),
            )
        )
        db.commit()
        assert sessions.expire(db) == 0
