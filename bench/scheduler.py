"""Scheduler placement: pending sessions over many agents, against DESIGN §11.

Seeds a throwaway data dir (SQLite, or an emptied PostgreSQL with --database-url): agents
registered through agents.register, users across a few projects under a few policies, and
pending sessions (one through create_session, the rest bulk-inserted with the same field
values). Then times schedule_once rounds until one places nothing, counting SQL statements
per round, and checks that the ledger equals the occupying sessions and that no agent
capacity or policy limit is exceeded (the run fails otherwise). Prints one JSON line on
stdout; logs go to stderr.

    .venv/bin/python bench/scheduler.py [--agents 1000] [--sessions 10000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from common import StatementCounter
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shipyard.admin import bootstrap
from shipyard.agents import service as agents
from shipyard.agents.models import Agent
from shipyard.agents.schemas import AgentRegister, EnforcementReport
from shipyard.auth import passwords
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.models import Base
from shipyard.policies import service as policies
from shipyard.policies.models import OnQuota, PolicyKind, ResourcePolicy
from shipyard.projects import service as projects
from shipyard.projects.models import Project, ProjectMember
from shipyard.resources.slots import ResourceSlots
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import recount
from shipyard.sessions import service as sessions
from shipyard.sessions.models import OCCUPYING, ComputeSession, SessionStatus, SessionType
from shipyard.sessions.schemas import SessionCreate
from shipyard.users.models import User

SEED = 20240611  # the same mix of requests on every run
USERS = 200
PROJECTS = 4  # bench projects; users are spread over them, the last one has a cpu limit
TIGHT_EVERY = 10  # every 10th user works under a 10-session policy
GPU_AGENT_EVERY = 10  # every 10th agent has 4 GPUs
AGENT_CAPACITY = {"cpu": "16", "mem": str(64 * 2**30)}
CPU_CHOICES = ("0.5", "1", "1", "2", "2", "4")
MEM_CHOICES = ("1g", "2g", "4g", "8g")
GPU_SHARE = 0.05  # of sessions, asking for 1 or 2 GPUs
MAX_ROUNDS = 1000
PASSWORD = "bench-Passw0rd!"
TARGETS = {"placements_per_second_min": 5000}  # DESIGN §11


class BenchFailed(Exception):
    """The scheduler broke a rule (ledger, capacity, limit) or the seed went wrong."""


@dataclass(frozen=True)
class Member:
    """A seeded user and what create_session would derive from them."""

    user_id: uuid.UUID
    project_id: uuid.UUID
    policy: ResourcePolicy


def note(message: str) -> None:
    print(f"scheduler: {message}", file=sys.stderr, flush=True)


def drop_schema(settings: Settings, database: Database) -> None:
    """One DROP ... CASCADE on PostgreSQL: metadata.drop_all() trips on a missing FK."""
    if settings.is_sqlite:
        return
    quote = database.engine.dialect.identifier_preparer.quote
    names = [quote(table.name) for table in Base.metadata.sorted_tables]
    with database.engine.begin() as connection:
        connection.execute(
            text(f"DROP TABLE IF EXISTS {', '.join(names)}, alembic_version CASCADE")
        )


def seed_agents(database: Database, count: int) -> None:
    """Agents registered as the agent protocol does (one commit each)."""
    with database.session() as db:
        group = agents.default_group(db)
        for number in range(count):
            capacity = dict(AGENT_CAPACITY)
            if number % GPU_AGENT_EVERY == 0:
                capacity["cuda.device"] = "4"
            payload = AgentRegister(
                agent_id=f"bench-agent-{number:05d}",
                hostname=f"node{number}",
                addr="http://127.0.0.1:9",
                version="bench",
                capacity=capacity,
                enforcement=EnforcementReport(sandbox="bubblewrap", cgroups="v2", rlimits=True),
                api_secret="s" * 40,
            )
            agents.register(db, group=group, payload=payload)


def seed_policies(db: Session) -> tuple[ResourcePolicy, ResourcePolicy, ResourcePolicy]:
    """Queueing user policies (roomy and tight) and a project policy with a cpu limit."""
    roomy = policies.create_policy(
        db,
        name="bench-roomy",
        kind=PolicyKind.USER,
        max_concurrent_sessions=100,
        on_quota=OnQuota.QUEUE,
    )
    tight = policies.create_policy(
        db,
        name="bench-tight",
        kind=PolicyKind.USER,
        total_slots={"cpu": "12"},
        max_concurrent_sessions=10,
        on_quota=OnQuota.QUEUE,
    )
    limited = policies.create_policy(
        db, name="bench-project", kind=PolicyKind.PROJECT, total_slots={"cpu": "3000"}
    )
    return roomy, tight, limited


def seed_members(database: Database, count: int) -> list[Member]:
    """USERS users over PROJECTS projects (created directly: one argon2 hash for all)."""
    with database.session() as db:
        roomy, tight, limited = seed_policies(db)
        bench_projects = [
            projects.create_project(db, name=f"bench-project-{n}") for n in range(PROJECTS)
        ]
        bench_projects[-1].resource_policy_id = limited.id
        password_hash = passwords.hash_password(Settings(), PASSWORD)
        members, memberships = [], []
        for number in range(count):
            project = bench_projects[number % PROJECTS]
            policy = tight if number % TIGHT_EVERY == 0 else roomy
            user = User(
                id=uuid.uuid4(),
                email=f"bench{number}@shipyard.local",
                full_name=f"Bench {number}",
                password_hash=password_hash,
                current_project_id=project.id,
                resource_policy_id=policy.id,
            )
            db.add(user)
            memberships.append(ProjectMember(project_id=project.id, user_id=user.id))
            members.append(Member(user.id, project.id, policy))
        db.flush()  # users before memberships: the models declare no relationship to order by
        db.add_all(memberships)
        db.commit()
    return members


def requests(count: int) -> list[dict[str, str]]:
    """A fixed mix of requests: mostly small CPU jobs, a few with GPUs."""
    chooser = random.Random(SEED)
    mix = []
    for _ in range(count):
        request = {"cpu": chooser.choice(CPU_CHOICES), "mem": chooser.choice(MEM_CHOICES)}
        if chooser.random() < GPU_SHARE:
            request["cuda.device"] = str(chooser.choice((1, 2)))
        mix.append(request)
    return mix


def seed_sessions(database: Database, members: list[Member], count: int) -> int:
    """The first session through create_session; the rest as the same rows, in bulk."""
    mix = requests(count)
    with database.session() as db:
        first = members[0]
        owner = db.get(User, first.user_id)
        project = db.get(Project, first.project_id)
        if owner is None or project is None:
            raise BenchFailed("the first bench user or project vanished")
        spec = SessionCreate(
            type=SessionType.BATCH, command="true", resources=mix[0], project=project.name
        )
        template = sessions.create_session(db, Settings(), owner=owner, spec=spec)
        if template.requested != ResourceSlots.from_json(mix[0]).to_json():
            raise BenchFailed("create_session stores requests differently from this bench")
        start = template.created_at
        rows = [
            session_row(template, members[n % len(members)], mix[n], start, n)
            for n in range(1, count)
        ]
        for offset in range(0, len(rows), 2000):
            db.execute(insert(ComputeSession), rows[offset : offset + 2000])
        db.commit()
        return db.scalar(select(func.count()).select_from(ComputeSession)) or 0


def session_row(
    template: ComputeSession, member: Member, request: dict[str, str], start: Any, n: int
) -> dict[str, Any]:
    """What create_session writes for this member and request (created in FIFO order)."""
    created = start + timedelta(microseconds=n)
    return {
        "id": uuid.uuid4(),
        "name": f"bench-{n}",
        "owner_id": member.user_id,
        "project_id": member.project_id,
        "resource_group_id": template.resource_group_id,
        "environment_id": template.environment_id,
        "type": template.type,
        "command": template.command,
        "requested": ResourceSlots.from_json(request).to_json(),
        "mounts": [],
        "max_lifetime": member.policy.max_session_lifetime,
        "idle_timeout": member.policy.idle_timeout,
        "status": SessionStatus.PENDING,
        "status_info": template.status_info,
        "history": [
            {"status": "PENDING", "at": created.isoformat(), "reason": template.status_info}
        ],
        "created_at": created,
        "status_changed_at": created,
    }


def run_rounds(database: Database, counter: StatementCounter) -> list[dict[str, Any]]:
    """schedule_once until a round places nothing; seconds and statements of each."""
    rounds = []
    for _ in range(MAX_ROUNDS):
        with database.session() as db:
            counter.reset()
            started = time.perf_counter()
            result = schedule_once(db)
            seconds = time.perf_counter() - started
        rounds.append(
            {
                "placed": result.placed,
                "waiting": result.waiting,
                "ms": round(seconds * 1e3, 1),
                "statements": counter.count,
            }
        )
        note(f"round {len(rounds)}: {rounds[-1]}")
        if result.placed == 0:
            return rounds
    raise BenchFailed(f"still placing after {MAX_ROUNDS} rounds")


def verify(database: Database, placed: int) -> dict[str, int]:
    """The ledger equals the occupying sessions; no capacity or limit is exceeded."""
    with database.session() as db:
        drifts = recount.rebuild(db)
        db.rollback()
        if drifts:
            raise BenchFailed(f"{len(drifts)} ledger rows drifted, e.g. {drifts[:3]}")
        occupying = list(
            db.execute(
                select(
                    ComputeSession.agent_id,
                    ComputeSession.owner_id,
                    ComputeSession.project_id,
                    ComputeSession.requested,
                ).where(ComputeSession.status.in_(OCCUPYING))
            )
        )
        if len(occupying) != placed:
            raise BenchFailed(f"{len(occupying)} sessions occupy, the rounds placed {placed}")
        check_agents(db, occupying)
        check_policies(db, occupying)
        statuses = Counter(db.scalars(select(ComputeSession.status)))
    return {status.value: number for status, number in sorted(statuses.items())}


def check_agents(db: Session, occupying: list[Any]) -> None:
    used: dict[str, ResourceSlots] = defaultdict(ResourceSlots)
    for row in occupying:
        used[row.agent_id] = used[row.agent_id] + ResourceSlots.from_json(row.requested)
    for agent in db.scalars(select(Agent)):
        if not used[agent.id].fits_in(agent.capacity_slots):
            raise BenchFailed(f"agent {agent.id} holds {used[agent.id]} over its capacity")


def check_policies(db: Session, occupying: list[Any]) -> None:
    by_user: dict[uuid.UUID, list[ResourceSlots]] = defaultdict(list)
    by_project: dict[uuid.UUID, list[ResourceSlots]] = defaultdict(list)
    for row in occupying:
        by_user[row.owner_id].append(ResourceSlots.from_json(row.requested))
        by_project[row.project_id].append(ResourceSlots.from_json(row.requested))
    for user_id, held in by_user.items():
        user = db.get(User, user_id)
        assert user is not None
        policy = policies.policy_of_user(db, user)
        cap = policy.max_concurrent_sessions
        if (cap is not None and len(held) > cap) or not policy.limits.allows(total(held)):
            raise BenchFailed(f"user {user.email} holds more than the policy allows")
    for project_id, held in by_project.items():
        project = db.get(Project, project_id)
        assert project is not None
        if not policies.policy_of_project(db, project).limits.allows(total(held)):
            raise BenchFailed(f"project {project.name} holds more than its policy allows")


def total(slots: list[ResourceSlots]) -> ResourceSlots:
    summed = ResourceSlots()
    for one in slots:
        summed = summed + one
    return summed


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def run(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, database_url=args.database_url)
    database = Database(settings.effective_database_url)
    try:
        note(f"seeding {database.engine.dialect.name} in {data_dir}")
        drop_schema(settings, database)
        bootstrap.prepare(settings, database)
        seed_agents(database, args.agents)
        members = seed_members(database, USERS)
        pending = seed_sessions(database, members, args.sessions)
        note(f"{args.agents} agents, {len(members)} users, {pending} pending sessions")
        rss_before, load = peak_rss_mb(), os.getloadavg()[0]
        rounds = run_rounds(database, StatementCounter(database))
        placed = sum(r["placed"] for r in rounds)
        statuses = verify(database, placed)
    finally:
        database.dispose()
    seconds = sum(r["ms"] for r in rounds) / 1e3
    per_second = round(placed / seconds, 1) if seconds else 0.0
    return {
        "bench": "scheduler",
        "database": "sqlite" if settings.is_sqlite else "postgresql",
        "agents": args.agents,
        "users": len(members),
        "sessions": pending,
        "placed": placed,
        "still_pending": statuses.get(SessionStatus.PENDING.value, 0),
        "rounds": len(rounds),
        "seconds": round(seconds, 3),
        "placements_per_second": per_second,
        "statements_per_round": [r["statements"] for r in rounds],
        "round_ms": [r["ms"] for r in rounds],
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_mb_before_rounds": rss_before,
        "host_load_1m": round(load, 2),  # other work on this machine skews the figures
        "verified": {"ledger": "equal", "capacity": "respected", "limits": "respected"},
        "targets": TARGETS,
        "met": {"placements": per_second >= TARGETS["placements_per_second_min"]},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000, help="simulated agents")
    parser.add_argument("--sessions", type=int, default=10000, help="pending sessions")
    parser.add_argument("--database-url", help="PostgreSQL URL; its schema is dropped first")
    args = parser.parse_args()
    if args.agents < 1 or args.sessions < 1:
        parser.error("--agents and --sessions must be at least 1")
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as data_dir:
        try:
            result = run(args, Path(data_dir))
        except (BenchFailed, SQLAlchemyError) as exc:
            note(f"FAILED: {exc}")
            return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
