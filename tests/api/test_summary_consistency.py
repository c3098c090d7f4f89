"""DESIGN §4: after a scripted mix of sessions (several users, projects and groups; scheduled,
running, finished, failed, terminated, an agent lost), Resource Statistics (API and panel),
System Resources, the Sessions API and the ledger all agree."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shipyard.agents.models import Agent, AgentStatus, ResourceGroup
from shipyard.agents.schemas import SessionReport
from shipyard.config import Settings
from shipyard.db import Database, utcnow
from shipyard.projects import service as projects
from shipyard.projects.models import Project
from shipyard.resources import ledger
from shipyard.resources.models import Scope
from shipyard.resources.slots import ResourceSlots, humanize, parse_amount
from shipyard.sessions import recount
from shipyard.sessions import service as sessions
from shipyard.sessions.models import FINISHED, OCCUPYING, ComputeSession, SessionStatus
from tests.api.test_sessions_api import bearer
from tests.factories import Factory, watching_loop
from tests.summary_helpers import new_group, project_policy, run_round, start, text_of

# Every figure is a sum over the ledger; the panels must agree.
pytestmark = pytest.mark.db

SLOTS = ("cpu", "mem", "cuda.device")


def report(database: Database, agent_id: str, *reports: SessionReport) -> None:
    with database.session() as db:
        agent = db.get(Agent, agent_id)
        assert agent is not None
        sessions.apply_reports(db, agent=agent, reports=reports)
        db.commit()


def fresh(database: Database, session: ComputeSession) -> ComputeSession:
    with database.session() as db:
        found = db.get(ComputeSession, session.id)
        assert found is not None
        return found


class Mix:
    """Three users in two projects, two resource groups with three agents, and a history."""

    def __init__(self, database: Database, settings: Settings, factory: Factory) -> None:
        self.database = database
        self.users = [factory.user() for _ in range(3)]
        with database.session() as db:
            default = projects.default_project(db)
        self.research = factory.project(members=(self.users[0].user, self.users[1].user))
        project_policy(database, self.research, {"cpu": "20", "cuda.device": "2"})
        self.gpu = new_group(database, projects=(default, self.research))
        self.agents = [
            factory.agent(cpu="8", mem="16g").id,
            factory.agent(cpu="4", mem="8g").id,
            factory.agent(group=self.gpu, cpu="16", mem="32g", gpus=2).id,
        ]
        factory.user_policy(self.users[2].user, slots={"cpu": "6"}, max_sessions=4)
        self.projects: dict[str, Project] = {"default": default, "research": self.research}
        self.settings = settings

    def play(self) -> None:
        a, b, c = (account.user for account in self.users)
        made = [
            start(self.database, self.settings, a, cpu="2", mem="2g"),
            start(self.database, self.settings, a, cpu="1", gpus=1, group=self.gpu),
            start(self.database, self.settings, a, cpu="3", project=self.research, group=self.gpu),
            start(self.database, self.settings, b, cpu="1.5", mem="3g"),
            start(self.database, self.settings, b, cpu="2", mem="1g", project=self.research),
            start(self.database, self.settings, c, cpu="2", mem="1g"),
            start(self.database, self.settings, c, cpu="2", mem="2g"),
            start(self.database, self.settings, c, cpu="1", gpus=1, group=self.gpu),
        ]
        run_round(self.database)
        placed = [fresh(self.database, s) for s in made]
        assert all(s.status is SessionStatus.SCHEDULED for s in placed)
        by_agent: dict[str, list[ComputeSession]] = defaultdict(list)
        for session in placed:
            assert session.agent_id is not None
            by_agent[session.agent_id].append(session)
        for agent_id, mine in by_agent.items():
            running = [SessionReport(session_id=s.id, running=True) for s in mine]
            report(self.database, agent_id, *running)
        # one finishes, one fails, one is terminated by its owner
        self._exit(placed[0], code=0)
        self._exit(placed[3], code=1)
        with self.database.session() as db:
            sessions.terminate(db, viewer=db.merge(c), session_id=placed[5].id)
        # more work arrives after the first round, and one request stays pending
        start(self.database, self.settings, b, cpu="1", mem="1g")
        run_round(self.database)
        start(self.database, self.settings, a, cpu="1", mem="1g")
        self._lose(self._busiest_default_agent())

    def _busiest_default_agent(self) -> str:
        held = [s.agent_id for s in self._occupying() if s.agent_id in self.agents[:2]]
        return max(self.agents[:2], key=held.count)

    def _exit(self, session: ComputeSession, *, code: int) -> None:
        assert session.agent_id is not None
        others = [
            SessionReport(session_id=s.id, running=True)
            for s in self._occupying()
            if s.agent_id == session.agent_id and s.id != session.id
        ]
        done = SessionReport(session_id=session.id, running=False, exit_code=code)
        report(self.database, session.agent_id, done, *others)

    def _occupying(self) -> list[ComputeSession]:
        with self.database.session() as db:
            return occupying_sessions(db)

    def _lose(self, agent_id: str) -> None:
        with self.database.session() as db:
            db.execute(
                update(Agent)
                .where(Agent.id == agent_id)
                .values(last_heartbeat_at=utcnow() - timedelta(seconds=31))
            )
            db.commit()
        before = len(self._occupying())
        assert watching_loop(self.database).housekeeping() == {agent_id}
        assert len(self._occupying()) < before  # the lost agent's sessions ended


def occupying_sessions(db: Session) -> list[ComputeSession]:
    return list(db.scalars(select(ComputeSession).where(ComputeSession.status.in_(OCCUPYING))))


def total(rows: list[dict[str, object]], slot: str) -> Decimal:
    amounts = (parse_amount(slot, str(dict(row["resources"]).get(slot, "0"))) for row in rows)  # type: ignore[call-overload]
    return sum(amounts, Decimal(0))


@pytest.fixture
def mix(database: Database, settings: Settings, factory: Factory) -> Mix:
    played = Mix(database, settings, factory)
    played.play()
    return played


def test_every_view_agrees_with_the_ledger(
    client: TestClient, database: Database, factory: Factory, mix: Mix
) -> None:
    with database.session() as db:
        assert recount.rebuild(db) == []  # no drift
        db.rollback()
        occupying = occupying_sessions(db)
        groups = {g.name: str(g.id) for g in db.scalars(select(ResourceGroup))}
        live = [
            a.capacity_slots for a in db.scalars(select(Agent)) if a.status is AgentStatus.ALIVE
        ]
        every = list(db.scalars(select(ComputeSession)))
        on_agents = sum(
            (held.slots for held in ledger.held_by_all(db, Scope.AGENT).values()), ResourceSlots()
        )
    assert {s.status for s in occupying} <= set(OCCUPYING)
    assert len(occupying) >= 3
    group_used: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for account in mix.users:
        headers = bearer(client, account)
        listed = client.get("/api/v1/sessions", headers=headers).json()["data"]
        holding = [row for row in listed if row["status"] in {s.value for s in OCCUPYING}]
        mine = [s for s in occupying if s.owner_id == account.user.id]
        assert sorted(row["id"] for row in holding) == sorted(str(s.id) for s in mine)
        for project_name, project in mix.projects.items():
            if project_name == "research" and account is mix.users[2]:
                continue
            for group in ("default", mix.gpu):
                body = client.get(
                    "/api/v1/summary/resources",
                    params={"project": project.name, "group": group},
                    headers=headers,
                ).json()
                figures = {row["slot"]: row for row in body["slots"]}
                for slot in SLOTS:
                    if slot not in figures:
                        continue
                    row = figures[slot]
                    # the user's figure is the sum over their occupying sessions (any project)
                    assert parse_amount(slot, row["user"]["used"]) == total(holding, slot)
                    in_project = [r for r in holding if r["project"] == project.name]
                    assert parse_amount(slot, row["project"]["used"]) >= total(in_project, slot)
                    group_used[group, slot] = parse_amount(slot, row["resource_group"]["used"])
                assert body["sessions"]["used"] == str(len(holding))
    # the group's use is everyone's occupying sessions in that group
    for (group, slot), used in group_used.items():
        expected = sum(
            (s.slots[slot] for s in occupying if str(s.resource_group_id) == groups[group]),
            Decimal(0),
        )
        assert used == expected, (group, slot)
    # System Resources: agents' reserved sums = every group's use; lost agents do not count
    admin = bearer(client, factory.admin())
    body = client.get("/api/v1/summary/system", headers=admin).json()
    assert body["agents"] == len(live) == 2
    assert body["sessions"] == len([s for s in every if s.status not in FINISHED])
    for row in body["slots"]:
        slot = row["slot"]
        assert parse_amount(slot, row["reserved"]) == sum(
            (s.slots[slot] for s in occupying), Decimal(0)
        )
        assert parse_amount(slot, row["reserved"]) == on_agents[slot]  # the agents' rows
        assert parse_amount(slot, row["reserved"]) == sum(
            (group_used.get((g, slot), Decimal(0)) for g in ("default", mix.gpu)), Decimal(0)
        )
    capacity = sum(live, ResourceSlots())
    assert {row["slot"]: row["capacity"] for row in body["slots"]} == capacity.to_json()


def test_the_rendered_panels_show_the_same_figures(
    client: TestClient, database: Database, factory: Factory, mix: Mix
) -> None:
    account = mix.users[0]
    api = client.get(
        "/api/v1/summary/resources", params={"group": mix.gpu}, headers=bearer(client, account)
    ).json()
    factory.web_login(client, account)
    html = client.get(f"/summary/resources?group={mix.gpu}").text
    for row in api["slots"]:
        slot = row["slot"]
        for key, part in (("user", "user"), ("resource_group", "group"), ("project", "project")):
            used = humanize(slot, parse_amount(slot, row[key]["used"]))
            assert text_of(html, f"resources-{slot}-{part}-text").startswith(used + " "), (
                slot,
                key,
            )
    admin = factory.admin()
    client.cookies.clear()
    body = client.get("/api/v1/summary/system", headers=bearer(client, admin)).json()
    factory.web_login(client, admin)
    html = client.get("/summary/system").text
    assert text_of(html, "system-agents") == str(body["agents"])
    assert text_of(html, "system-sessions") == str(body["sessions"])
    cpu = next(row for row in body["slots"] if row["slot"] == "cpu")
    assert text_of(html, "system-cpu-text").startswith(
        f"{cpu['reserved']} / {cpu['capacity']} cores"
    )
