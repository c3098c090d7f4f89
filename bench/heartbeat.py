"""Agent heartbeats against `shipyard manager` in its own process, against DESIGN §11.

Seeds a throwaway data dir (migrated SQLite, or an emptied PostgreSQL with --database-url)
and an agent token, starts `shipyard manager` on a loopback port, registers the simulated
agents through the agent protocol, then has each of them POST /api/v1/agent/heartbeat every
--interval seconds (starts spread over the first interval) for --seconds, from one asyncio
httpx client with a bounded connection pool. Measures heartbeat latency as the client sees it
(connection pool wait included), the rate achieved, errors, and the manager process's CPU
time over the run. Prints one JSON line on stdout; logs go to stderr.

    .venv/bin/python bench/heartbeat.py [--agents 1000] [--seconds 30] [--interval 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from common import BenchFailed, ms, shipyard_process
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from shipyard.admin import bootstrap
from shipyard.agents import service as agents
from shipyard.agents.models import DEFAULT_GROUP
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.models import Base

CONNECTIONS = 50
AGENT_CAPACITY = {"cpu": "16", "mem": str(64 * 2**30)}
TARGETS = {  # DESIGN §11
    "heartbeat_p99_ms_max": 50,
    "manager_cpu_percent_max": 25,
    "errors_max": 0,
}


@dataclass
class Tally:
    """What the heartbeats saw: latencies of the successful ones, and every failure."""

    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    examples: list[str] = field(default_factory=list)  # the first few failures, for the log

    def failed(self, why: str) -> None:
        self.errors += 1
        if len(self.examples) < 5:
            self.examples.append(why)


def note(message: str) -> None:
    print(f"heartbeat: {message}", file=sys.stderr, flush=True)


def seed(settings: Settings, database: Database) -> str:
    """Migrate, create defaults and the first admin; return a new agent token."""
    if not settings.is_sqlite:  # one DROP ... CASCADE: metadata.drop_all() trips on a missing FK
        quote = database.engine.dialect.identifier_preparer.quote
        names = [quote(table.name) for table in Base.metadata.sorted_tables]
        with database.engine.begin() as connection:
            connection.execute(
                text(f"DROP TABLE IF EXISTS {', '.join(names)}, alembic_version CASCADE")
            )
    bootstrap.prepare(settings, database)
    with database.session() as db:
        raw, _token = agents.create_agent_token(db, group_name=DEFAULT_GROUP)
    return raw


def agent_ids(count: int) -> list[str]:
    return [f"bench-agent-{number:05d}" for number in range(count)]


def registration(agent_id: str) -> dict[str, Any]:
    return {
        "agent_id": agent_id,
        "hostname": agent_id,
        "addr": "http://127.0.0.1:9",
        "version": "bench",
        "capacity": AGENT_CAPACITY,
        "enforcement": {"sandbox": "bubblewrap", "cgroups": "v2", "rlimits": True},
        "api_secret": "s" * 40,
    }


def heartbeat(agent_id: str, chooser: random.Random) -> dict[str, Any]:
    """What a real agent sends (agent/metrics.py live()) while it runs no session."""
    total = 64 * 2**30
    return {
        "agent_id": agent_id,
        "utilization": {
            "cpu_percent": round(chooser.uniform(0, 100), 1),
            "mem_used": chooser.randrange(total),
            "mem_total": total,
            "gpus": [],
        },
        "sessions": [],
    }


async def register_all(client: httpx.AsyncClient, ids: list[str], gate: asyncio.Semaphore) -> None:
    async def one(agent_id: str) -> None:
        try:
            async with gate:
                response = await client.post("/api/v1/agent/register", json=registration(agent_id))
        except httpx.HTTPError as exc:
            raise BenchFailed(f"registering {agent_id}: {exc.__class__.__name__} {exc}") from exc
        if response.status_code != 200:
            raise BenchFailed(f"registering {agent_id} answered {response.status_code}")

    await asyncio.gather(*(one(agent_id) for agent_id in ids))


async def beat(
    client: httpx.AsyncClient,
    agent_id: str,
    *,
    first: float,
    until: float,
    interval: float,
    gate: asyncio.Semaphore,
    tally: Tally,
) -> None:
    """One agent: a heartbeat at first, first + interval, ... while before until."""
    loop = asyncio.get_running_loop()
    chooser = random.Random(agent_id)
    due = first
    while due < until:
        await asyncio.sleep(max(0.0, due - loop.time()))
        started = time.perf_counter()
        try:
            async with gate:  # waiting here is waiting for the manager: it counts
                response = await client.post(
                    "/api/v1/agent/heartbeat", json=heartbeat(agent_id, chooser)
                )
        except httpx.HTTPError as exc:
            at = time.perf_counter() - started
            tally.failed(f"{agent_id} after {at:.2f}s: {exc.__class__.__name__}: {exc}")
        else:
            if response.status_code == 200:
                tally.seconds.append(time.perf_counter() - started)
            else:
                tally.failed(f"{agent_id}: HTTP {response.status_code} {response.text[:200]}")
        due += interval


async def drive(base_url: str, token: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    """Register every agent, then heartbeat for args.seconds; figures of the heartbeat phase."""
    ids = agent_ids(args.agents)
    limits = httpx.Limits(
        max_connections=args.connections, max_keepalive_connections=args.connections
    )
    timeout = httpx.Timeout(10.0)
    # in flight at most one request per connection: queueing in httpx's pool costs the
    # client O(waiting) per response, enough to starve the manager on a 2-core machine
    gate = asyncio.Semaphore(args.connections)
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=timeout
    ) as client:
        await register_all(client, ids, gate)
        note(
            f"{len(ids)} agents registered; heartbeating every {args.interval}s for {args.seconds}s"
        )
        manager = psutil.Process(pid)
        load = os.getloadavg()[0]
        tally = Tally()
        loop = asyncio.get_running_loop()
        cpu_before, started = manager.cpu_times(), loop.time()
        client_before = time.process_time()
        until = started + args.seconds
        await asyncio.gather(
            *(
                beat(
                    client,
                    agent_id,
                    first=started + args.interval * n / len(ids),
                    until=until,
                    interval=args.interval,
                    gate=gate,
                    tally=tally,
                )
                for n, agent_id in enumerate(ids)
            )
        )
        wall = loop.time() - started
        cpu_after = manager.cpu_times()
        client_cpu = time.process_time() - client_before
        rss = manager.memory_info().rss
    cpu = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    return {
        **figures(tally, wall=wall, cpu=cpu, client=client_cpu, rss=rss, args=args),
        "host_load_1m": round(load, 2),  # other work on this machine skews the figures
    }


def figures(
    tally: Tally, *, wall: float, cpu: float, client: float, rss: int, args: argparse.Namespace
) -> dict[str, Any]:
    for example in tally.examples:
        note(f"error: {example}")
    if len(tally.seconds) < 2:
        raise BenchFailed(f"only {len(tally.seconds)} heartbeats succeeded, {tally.errors} failed")
    return {
        "heartbeats": len(tally.seconds) + tally.errors,
        "errors": tally.errors,
        "per_second": round(len(tally.seconds) / wall, 1),
        "offered_per_second": round(args.agents / args.interval, 1),
        "p50_ms": ms(tally.seconds, 50),
        "p99_ms": ms(tally.seconds, 99),
        "max_ms": round(max(tally.seconds) * 1e3, 2),
        "seconds": round(wall, 2),
        "manager_cpu_percent": round(cpu / wall * 100, 1),
        "manager_cpu_ms_per_heartbeat": round(cpu / len(tally.seconds) * 1e3, 2),
        "manager_rss_mb": round(rss / 2**20, 1),
        "client_cpu_percent": round(client / wall * 100, 1),  # the load generator's own share
    }


def run(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, database_url=args.database_url)
    database = Database(settings.effective_database_url)
    try:
        note(f"seeding {database.engine.dialect.name} in {data_dir}")
        token = seed(settings, database)
    finally:
        database.dispose()
    env = {**os.environ, "SHIPYARD_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["SHIPYARD_DATABASE_URL"] = settings.database_url
    log_path = settings.data_dir / "manager.log"
    with shipyard_process(["manager"], env=env, log_path=log_path) as (base_url, process):
        pid = process.pid
        note(f"`shipyard manager` (pid {pid}) on {base_url}")
        result = asyncio.run(drive(base_url, token, pid, args))
    met = {
        "latency": result["p99_ms"] <= TARGETS["heartbeat_p99_ms_max"],
        "manager_cpu": result["manager_cpu_percent"] <= TARGETS["manager_cpu_percent_max"],
        "errors": result["errors"] <= TARGETS["errors_max"],
    }
    return {
        "bench": "heartbeat",
        "database": "sqlite" if settings.is_sqlite else "postgresql",
        "agents": args.agents,
        "interval_s": args.interval,
        "connections": args.connections,
        **result,
        "targets": TARGETS,
        "met": met,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000, help="simulated agents")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long they heartbeat")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between heartbeats")
    parser.add_argument("--connections", type=int, default=CONNECTIONS, help="client pool size")
    parser.add_argument("--database-url", help="PostgreSQL URL; its schema is dropped first")
    args = parser.parse_args()
    if args.agents < 1 or args.seconds <= 0 or args.interval <= 0 or args.connections < 1:
        parser.error("--agents, --seconds, --interval and --connections must be positive")
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as data_dir:
        try:
            result = run(args, Path(data_dir))
        except (BenchFailed, httpx.HTTPError, SQLAlchemyError) as exc:
            note(f"FAILED: {exc.__class__.__name__}: {exc}")
            return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
