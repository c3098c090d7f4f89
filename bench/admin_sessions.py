"""The admin Sessions view at 100k sessions and 10k users, against issue 14's target.

Seeds a throwaway SQLite data dir in bulk: the first admin, users in the default project and
a few more projects, agents over several resource groups, and sessions of every status
(mostly finished, a tenth running, some pending) spread over users, projects, groups and
agents, created over the past weeks. Serves the real app on a loopback port (scheduler off)
and renders, as the admin: the console page /admin/sessions (first page), a filtered page
(one user; RUNNING in one group), the htmx next page by cursor, and the API's first page;
prints p50 / p99 and SQL statements per render, with the admin Users page rendered in the
same run for reference. Then seeds a tenth of the data afresh and
counts the statements again: they must not change. One JSON line on stdout; logs on stderr.

    .venv/bin/python bench/admin_sessions.py [--scale 1.0] [--renders 200]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from common import BenchFailed, StatementCounter, ms
from login_summary import expect, login_form, submit_login
from sqlalchemy import insert, select
from summary import serving

from shipyard.admin import bootstrap
from shipyard.agents.models import Agent, AgentStatus, ResourceGroup, ResourceGroupProject
from shipyard.auth import passwords
from shipyard.config import Settings
from shipyard.db import Database, utcnow
from shipyard.environments.models import Environment
from shipyard.projects import service as projects
from shipyard.projects.models import Project, ProjectMember
from shipyard.sessions.models import ComputeSession, SessionStatus, SessionType
from shipyard.users.models import User

PASSWORD = "bench-Passw0rd!"
WARMUP = 20
GROUPS = 8
PROJECTS = 4
GIB = 2**30
FULL = {"users": 10_000, "agents": 200, "sessions": 100_000}
TARGETS = {"p50_ms_max": 30}  # issue 14: first page and a filtered page
BATCH = 20_000
BUSY_USER = "user00007@bench.local"
STATUSES = (
    [SessionStatus.TERMINATED] * 70
    + [SessionStatus.ERROR] * 8
    + [SessionStatus.CANCELLED] * 8
    + [SessionStatus.RUNNING] * 10
    + [SessionStatus.PENDING] * 4
)


def note(message: str) -> None:
    print(f"admin_sessions: {message}", file=sys.stderr, flush=True)


def sizes(scale: float) -> dict[str, int]:
    """The counts at `scale`; every group keeps an agent, so filtered pages are never empty."""
    counts = {name: max(1, int(count * scale)) for name, count in FULL.items()}
    return {**counts, "agents": max(GROUPS, counts["agents"])}


def seed(settings: Settings, database: Database, counts: dict[str, int]) -> str:
    """Users, projects, groups, agents and sessions in bulk; returns the admin's password."""
    admin_password = bootstrap.prepare(settings, database).generated_password
    if admin_password is None:
        raise BenchFailed("the database already had users; give an empty one")
    rng = random.Random(14)
    with database.session() as db:
        environment = db.scalars(select(Environment.id)).first()
        if environment is None:
            raise BenchFailed("no environment after bootstrap")
        project_ids = _projects(db)
        users = _users(db, settings, project_ids, counts["users"])
        groups = _groups(db, project_ids)
        agents = _agents(db, groups, counts["agents"])
        _sessions(
            db,
            rng,
            users=users,
            projects=project_ids,
            agents=agents,
            environment=environment,
            count=counts["sessions"],
        )
        db.commit()
    return admin_password


def _projects(db: Any) -> list[uuid.UUID]:
    rows = [
        {"id": uuid.uuid4(), "name": f"bench-{n}", "description": ""} for n in range(1, PROJECTS)
    ]
    db.execute(insert(Project), rows)
    return [projects.default_project(db).id, *(row["id"] for row in rows)]


def _users(
    db: Any, settings: Settings, project_ids: list[uuid.UUID], count: int
) -> list[uuid.UUID]:
    hashed = passwords.hash_password(settings, PASSWORD)
    rows = [
        {
            "id": uuid.uuid4(),
            "email": f"user{number:05d}@bench.local",
            "full_name": f"Bench User {number}",
            "password_hash": hashed,
        }
        for number in range(count)
    ]
    for start in range(0, len(rows), BATCH):
        db.execute(insert(User), rows[start : start + BATCH])
    members = [{"project_id": project_ids[0], "user_id": row["id"]} for row in rows]
    members += [
        {"project_id": project_ids[n % PROJECTS], "user_id": row["id"]}
        for n, row in enumerate(rows)
        if n % PROJECTS
    ]
    for start in range(0, len(members), BATCH):
        db.execute(insert(ProjectMember), members[start : start + BATCH])
    return [row["id"] for row in rows]


def _groups(db: Any, project_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    groups = [db.scalars(select(ResourceGroup.id).where(ResourceGroup.name == "default")).one()]
    for number in range(1, GROUPS):
        group = {"id": uuid.uuid4(), "name": f"bench-{number}", "description": ""}
        db.execute(insert(ResourceGroup), [group])
        groups.append(group["id"])
    links = [
        {"resource_group_id": group, "project_id": project}
        for group in groups[1:]
        for project in project_ids
    ]
    db.execute(insert(ResourceGroupProject), links)
    return groups


def _agents(db: Any, groups: list[uuid.UUID], count: int) -> list[tuple[str, uuid.UUID]]:
    rows = [
        {
            "id": f"bench-agent-{number:04d}",
            "resource_group_id": groups[number % GROUPS],
            "status": AgentStatus.ALIVE,
            "capacity": {"cpu": "64", "mem": str(256 * GIB)},
            "cpu_capacity": 64_000,
            "mem_capacity": 256 * GIB,
        }
        for number in range(count)
    ]
    db.execute(insert(Agent), rows)
    return [(row["id"], row["resource_group_id"]) for row in rows]


def _sessions(
    db: Any,
    rng: random.Random,
    *,
    users: list[uuid.UUID],
    projects: list[uuid.UUID],
    agents: list[tuple[str, uuid.UUID]],
    environment: uuid.UUID,
    count: int,
) -> None:
    """`count` sessions over the past 30 days; pending ones have no agent yet."""
    now = utcnow()
    made = []
    for number in range(count):
        agent, group = rng.choice(agents)
        status = rng.choice(STATUSES)
        made.append(
            {
                "id": uuid.uuid4(),
                "name": f"s-{number}",
                "owner_id": rng.choice(users),
                "project_id": rng.choice(projects),
                "resource_group_id": group,
                "agent_id": None if status is SessionStatus.PENDING else agent,
                "environment_id": environment,
                "type": SessionType.BATCH,
                "command": "true",
                "requested": {"cpu": "1", "mem": str(GIB)},
                "status": status,
                "status_info": "",
                "created_at": now - timedelta(seconds=rng.randrange(30 * 86400)),
            }
        )
    for start in range(0, len(made), BATCH):
        db.execute(insert(ComputeSession), made[start : start + BATCH])


def measure(
    client: httpx.Client, counter: StatementCounter, path: str, n: int, **kwargs: Any
) -> dict[str, Any]:
    """N sequential GETs of `path` after WARMUP untimed ones: latency and statements."""
    for _ in range(WARMUP):
        expect(client.get(path, **kwargs), 200)
    seconds, statements = [], []
    for _ in range(n):
        counter.reset()
        began = time.perf_counter()
        expect(client.get(path, **kwargs), 200)
        seconds.append(time.perf_counter() - began)
        statements.append(counter.count)
    return {
        "p50_ms": ms(seconds, 50),
        "p99_ms": ms(seconds, 99),
        "statements": statistics.median_low(statements),
        "statements_constant": min(statements) == max(statements),
    }


def cases(client: httpx.Client, bearer: dict[str, str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """What to render: each case's path and request options."""
    first = expect(client.get("/api/v1/admin/sessions", headers=bearer), 200).json()
    htmx = {"headers": {"HX-Request": "true"}}
    return {
        "console_first_page": ("/admin/sessions", {}),
        "console_one_user": (f"/admin/sessions?user={BUSY_USER}", {}),
        "console_running_in_group": ("/admin/sessions?status=RUNNING&group=bench-3", {}),
        "console_htmx_next_page": (f"/admin/sessions?after={first['next']}", htmx),
        "api_first_page": ("/api/v1/admin/sessions", {"headers": bearer}),
        "reference_admin_users_page": ("/admin/users", {}),
    }


def render_all(
    settings: Settings, database: Database, *, counts: dict[str, int], n: int
) -> dict[str, dict[str, Any]]:
    note(f"seeding {counts} in {settings.data_dir}")
    began = time.perf_counter()
    admin_password = seed(settings, database, counts)
    note(f"seeded in {time.perf_counter() - began:.1f} s")
    counter = StatementCounter(database)
    with serving(database, settings) as base_url, httpx.Client(base_url=base_url) as client:
        credentials = {"email": settings.admin_email, "password": admin_password}
        issued = expect(httpx.post(f"{base_url}/api/v1/auth/login", json=credentials), 201)
        bearer = {"Authorization": f"Bearer {issued.json()['token']}"}
        submit_login(client, login_form(client, settings.admin_email, admin_password))
        return {
            name: measure(client, counter, path, n, **options)
            for name, (path, options) in cases(client, bearer).items()
        }


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    phases = {}
    for name, scale, n in (("full", args.scale, args.renders), ("tenth", args.scale / 10, 30)):
        settings = Settings(data_dir=root / name)
        database = Database(settings.effective_database_url)
        try:
            phases[name] = render_all(settings, database, counts=sizes(scale), n=n)
        finally:
            database.dispose()
    full, tenth = phases["full"], phases["tenth"]
    renders = {
        key: {**figures, "statements_at_a_tenth": tenth[key]["statements"]}
        for key, figures in full.items()
    }
    timed = ("console_first_page", "console_one_user", "console_running_in_group")
    ours = [figures for key, figures in renders.items() if not key.startswith("reference_")]
    met = all(renders[key]["p50_ms"] <= TARGETS["p50_ms_max"] for key in timed) and all(
        figures["statements"] == figures["statements_at_a_tenth"] and figures["statements_constant"]
        for figures in ours
    )
    return {
        "bench": "admin_sessions",
        "database": "sqlite",
        **sizes(args.scale),
        "sessions_at_a_tenth": sizes(args.scale / 10)["sessions"],
        "renders": renders,
        "targets": TARGETS,
        "met": met,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100k sessions, 10k users")
    parser.add_argument("--renders", type=int, default=200, help="timed renders per case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as root:
        try:
            result = run(args, Path(root))
        except (BenchFailed, httpx.HTTPError) as exc:
            note(f"FAILED: {exc}")
            return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
