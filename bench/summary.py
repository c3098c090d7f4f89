"""The Summary page at 10k users, 1k agents, 20k running and 200k finished sessions (DESIGN §11).

Seeds a throwaway SQLite data dir in bulk: the first admin, users in the default project,
agents in several resource groups the project may use (a few without cgroups, so admins get
notices), running sessions placed on them and finished ones, and the ledger those running
sessions hold (computed as the scheduler would have written it). Serves the real app on a
loopback port (scheduler off: nothing heartbeats, and nothing must be called lost) and renders,
as the admin and as a user, the page `/` and each panel fragment; prints p50 / p99 and the
SQL statements per render. Then seeds a tenth of the data afresh and counts the statements
again: they must not change. One JSON line on stdout; logs go to stderr.

    .venv/bin/python bench/summary.py [--scale 1.0] [--renders 200]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from common import BenchFailed, StatementCounter, ms
from login_summary import expect, login_form, submit_login, wait_healthy
from sqlalchemy import insert, select

from shipyard.admin import bootstrap
from shipyard.agents.models import Agent, AgentStatus, ResourceGroup, ResourceGroupProject
from shipyard.app import create_app
from shipyard.auth import passwords
from shipyard.config import Settings
from shipyard.db import Database, utcnow
from shipyard.environments.models import Environment
from shipyard.projects import service as projects
from shipyard.projects.models import ProjectMember
from shipyard.resources.models import SESSIONS_SLOT, Scope, Usage
from shipyard.resources.slots import to_units
from shipyard.sessions import recount
from shipyard.sessions.models import ComputeSession, SessionStatus, SessionType
from shipyard.users.models import User

PASSWORD = "bench-Passw0rd!"
WARMUP = 20
GROUPS = 8
GIB = 2**30
FULL = {"users": 10_000, "agents": 1_000, "running": 20_000, "finished": 200_000}
PANELS = ("/summary/resources", "/summary/system", "/summary/announcement", "/summary/invitations")
TARGETS = {"p50_ms_max": 25, "p99_ms_max": 60, "statements_max": 15}  # DESIGN §11
BATCH = 20_000


def note(message: str) -> None:
    print(f"summary: {message}", file=sys.stderr, flush=True)


def sizes(scale: float) -> dict[str, int]:
    return {name: max(1, int(count * scale)) for name, count in FULL.items()}


def seed(settings: Settings, database: Database, counts: dict[str, int]) -> tuple[str, str]:
    """Everything the page shows, in bulk; returns (admin password, a busy user's email)."""
    admin_password = bootstrap.prepare(settings, database).generated_password
    if admin_password is None:
        raise BenchFailed("the database already had users; give an empty one")
    rng = random.Random(7)
    with database.session() as db:
        project = projects.default_project(db).id
        environment = db.scalars(select(Environment.id)).first()
        if environment is None:
            raise BenchFailed("no environment after bootstrap")
        users = _users(db, settings, project, counts["users"])
        agents = _agents(db, project, counts["agents"])
        running = _sessions(
            db,
            rng,
            users=users,
            agents=agents,
            project=project,
            environment=environment,
            count=counts["running"],
            finished=False,
        )
        _sessions(
            db,
            rng,
            users=users,
            agents=agents,
            project=project,
            environment=environment,
            count=counts["finished"],
            finished=True,
        )
        _ledger(db, running)
        db.commit()
    with database.session() as db:
        if recount.rebuild(db, scope=Scope.USER, ids=[str(users[0])]):
            raise BenchFailed("the seeded ledger drifts from the sessions")
        db.rollback()
    return admin_password, "user00000@bench.local"


def _users(db: Any, settings: Settings, project: uuid.UUID, count: int) -> list[uuid.UUID]:
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
    db.execute(insert(User), rows)
    db.execute(insert(ProjectMember), [{"project_id": project, "user_id": r["id"]} for r in rows])
    return [row["id"] for row in rows]


def _agents(db: Any, project: uuid.UUID, count: int) -> list[tuple[str, uuid.UUID]]:
    """`count` agents over GROUPS groups (all usable by the project); (id, group) pairs."""
    groups = [db.scalars(select(ResourceGroup.id).where(ResourceGroup.name == "default")).one()]
    for number in range(1, GROUPS):
        group = {"id": uuid.uuid4(), "name": f"bench-{number}", "description": ""}
        db.execute(insert(ResourceGroup), [group])
        db.execute(
            insert(ResourceGroupProject),
            [{"resource_group_id": group["id"], "project_id": project}],
        )
        groups.append(group["id"])
    capacity = {"cpu": "64", "mem": str(256 * GIB), "cuda.device": "8"}
    use = {"cpu_percent": 37.5, "mem_used": 40 * GIB, "gpus": [{"index": 0, "util": 50}]}
    rows = []
    for number in range(count):
        cgroups = "none" if number < 3 else "v2"
        rows.append(
            {
                "id": f"bench-agent-{number:04d}",
                "resource_group_id": groups[number % GROUPS],
                "status": AgentStatus.ALIVE,
                "capacity": capacity,
                "utilization": use,
                "enforcement": {"sandbox": "bubblewrap", "cgroups": cgroups, "rlimits": True},
                "cpu_capacity": 64_000,
                "mem_capacity": 256 * GIB,
                "gpu_capacity": 8,
                "cpu_used": 24_000,
                "mem_used": 40 * GIB,
                "gpu_used": 50,
                "unenforced": cgroups == "none",
            }
        )
    db.execute(insert(Agent), rows)
    return [(row["id"], row["resource_group_id"]) for row in rows]


def _sessions(
    db: Any,
    rng: random.Random,
    *,
    users: list[uuid.UUID],
    agents: list[tuple[str, uuid.UUID]],
    project: uuid.UUID,
    environment: uuid.UUID,
    count: int,
    finished: bool,
) -> list[dict[str, Any]]:
    """`count` sessions, running or finished; the first user always has a few running."""
    now = utcnow()
    made = []
    for number in range(count):
        agent, group = agents[number % len(agents)]
        owner = users[0] if number < 3 and not finished else rng.choice(users)
        requested = {"cpu": "1", "mem": str(GIB)}
        if number % 10 == 0:
            requested["cuda.device"] = "1"
        made.append(
            {
                "id": uuid.uuid4(),
                "name": f"s-{number}",
                "owner_id": owner,
                "project_id": project,
                "resource_group_id": group,
                "agent_id": agent,
                "environment_id": environment,
                "type": SessionType.BATCH,
                "command": "true",
                "requested": requested,
                "status": SessionStatus.TERMINATED if finished else SessionStatus.RUNNING,
                "created_at": now - timedelta(seconds=count - number),
                "finished_at": now if finished else None,
            }
        )
    for start in range(0, len(made), BATCH):
        db.execute(insert(ComputeSession), made[start : start + BATCH])
    return made


def _ledger(db: Any, running: list[dict[str, Any]]) -> None:
    """What the running sessions hold, per scope and slot, as ledger.change() writes it."""
    sums: dict[tuple[Scope, str, str], int] = defaultdict(int)
    for session in running:
        units = {slot: to_units(slot, Decimal(text)) for slot, text in session["requested"].items()}
        units[SESSIONS_SLOT] = 1
        for scope, key in (
            (Scope.USER, session["owner_id"]),
            (Scope.PROJECT, session["project_id"]),
            (Scope.GROUP, session["resource_group_id"]),
            (Scope.AGENT, session["agent_id"]),
        ):
            for slot, amount in units.items():
                sums[scope, str(key), slot] += amount
    rows = [
        {"scope": s, "scope_id": k, "slot": slot, "amount": a} for (s, k, slot), a in sums.items()
    ]
    for start in range(0, len(rows), BATCH):
        db.execute(insert(Usage), rows[start : start + BATCH])


@contextlib.contextmanager
def serving(database: Database, settings: Settings) -> Iterator[str]:
    """The app on a loopback port in a thread, without its scheduler (see the module doc)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(settings, database=database, run_scheduler=False)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_healthy(base_url, thread)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def measure(client: httpx.Client, counter: StatementCounter, path: str, n: int) -> dict[str, Any]:
    """N sequential renders of `path` after WARMUP untimed ones; htmx for fragments."""
    headers = {"HX-Request": "true"} if path != "/" else {}
    for _ in range(WARMUP):
        expect(client.get(path, headers=headers), 200)
    seconds, statements = [], []
    for _ in range(n):
        counter.reset()
        began = time.perf_counter()
        expect(client.get(path, headers=headers), 200)
        seconds.append(time.perf_counter() - began)
        statements.append(counter.count)
    return {
        "p50_ms": ms(seconds, 50),
        "p99_ms": ms(seconds, 99),
        "statements": statistics.median_low(statements),
        "statements_constant": min(statements) == max(statements),
    }


def present(client: httpx.Client) -> list[str]:
    """The page and the panel fragments this build serves (s2's panels may not exist yet)."""
    paths = ["/"]
    for path in PANELS:
        status = client.get(path, headers={"HX-Request": "true"}).status_code
        if status == 200:
            paths.append(path)
        else:
            note(f"{path} answers {status}: skipped")
    return paths


def render_all(
    settings: Settings,
    database: Database,
    *,
    counts: dict[str, int],
    n: int,
) -> dict[str, dict[str, Any]]:
    """Seed, serve, and measure every path as the admin and as a user."""
    note(f"seeding {counts} in {settings.data_dir}")
    began = time.perf_counter()
    admin_password, user_email = seed(settings, database, counts)
    note(f"seeded in {time.perf_counter() - began:.1f} s")
    counter = StatementCounter(database)
    results: dict[str, dict[str, Any]] = {}
    with serving(database, settings) as base_url:
        for who, email, password in (
            ("admin", settings.admin_email, admin_password),
            ("user", user_email, PASSWORD),
        ):
            with httpx.Client(base_url=base_url) as client:
                submit_login(client, login_form(client, email, password))
                for path in present(client):
                    results[f"{who} {path}"] = measure(client, counter, path, n)
    return results


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
    pages = [figures for key, figures in renders.items() if key.endswith(" /")]
    met = all(
        page["p50_ms"] <= TARGETS["p50_ms_max"] and page["p99_ms"] <= TARGETS["p99_ms_max"]
        for page in pages
    ) and all(
        figures["statements"] <= TARGETS["statements_max"]
        and figures["statements"] == figures["statements_at_a_tenth"]
        and figures["statements_constant"]
        for figures in renders.values()
    )
    return {
        "bench": "summary",
        "database": "sqlite",
        **sizes(args.scale),
        "renders": renders,
        "targets": TARGETS,
        "met": met,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 10k users, 1k agents ...")
    parser.add_argument("--renders", type=int, default=200, help="timed renders per path")
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
