"""/metrics scrapes over real HTTP with a large platform, and the HTTP middleware's cost.

Seeds a throwaway SQLite data dir with --agents agents, --running running sessions (held in
the ledger) and --finished finished ones (DESIGN §11's Summary page data), serves the real
app with uvicorn on a loopback port and scrapes /metrics with the bearer token --scrapes
times: latency, SQL statements per scrape (must not grow with the data) and response size.
Then times the pure ASGI HTTP-metrics middleware in-process around a no-op app, against the
bare app, to show what every request pays for its latency histogram. Prints one JSON line
on stdout; logs go to stderr.

    .venv/bin/python bench/metrics.py [--agents 1000] [--running 20000] [--finished 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from common import BenchFailed, StatementCounter, ms
from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError

from shipyard.admin import bootstrap
from shipyard.agents import service as agents
from shipyard.agents.models import Agent
from shipyard.app import create_app
from shipyard.config import Settings
from shipyard.db import Database, utcnow
from shipyard.metrics.middleware import HttpMetricsMiddleware
from shipyard.metrics.registry import Metrics
from shipyard.sessions import recount
from shipyard.sessions import service as sessions
from shipyard.sessions.models import ComputeSession, SessionStatus, SessionType
from shipyard.sessions.schemas import SessionCreate
from shipyard.users.models import User

TOKEN = "bench-metrics-token-0123456789"
CAPACITY = {"cpu": "64", "mem": str(256 * 2**30)}
REQUEST = {"cpu": "1", "mem": "1g"}
MIDDLEWARE_CALLS = 20000
BATCH = 5000


def note(message: str) -> None:
    print(f"metrics: {message}", file=sys.stderr, flush=True)


def seed(database: Database, settings: Settings, args: argparse.Namespace) -> None:
    """Agents and sessions as bulk rows shaped like one made by create_session."""
    bootstrap.prepare(settings, database)
    now = utcnow()
    with database.session() as db:
        group = agents.default_group(db)
        agent_rows = [_agent(group.id, n, now) for n in range(args.agents)]
        db.execute(insert(Agent), agent_rows)
        db.commit()
        admin = db.scalar(select(User).where(User.email == settings.admin_email))
        if admin is None:
            raise BenchFailed("the first admin was not created")
        spec = SessionCreate(type=SessionType.BATCH, command="true", resources=REQUEST)
        template = sessions.create_session(db, settings, owner=admin, spec=spec)
        ids = [row["id"] for row in agent_rows]
        for status, count in (
            (SessionStatus.RUNNING, args.running),
            (SessionStatus.TERMINATED, args.finished),
        ):
            for offset in range(0, count, BATCH):
                rows = [
                    _session(template, status, ids[n % len(ids)], n)
                    for n in range(offset, min(count, offset + BATCH))
                ]
                db.execute(insert(ComputeSession), rows)
        recount.rebuild(db)  # the running sessions hold their slots, as the scheduler would write
        db.commit()


def _agent(group_id: uuid.UUID, n: int, now: Any) -> dict[str, Any]:
    return {
        "id": f"bench-agent-{n:05d}",
        "resource_group_id": group_id,
        "hostname": f"node{n}",
        "addr": "http://127.0.0.1:9",
        "version": "bench",
        "capacity": CAPACITY,
        "last_heartbeat_at": now - timedelta(seconds=n % 5),
    }


def _session(template: ComputeSession, status: SessionStatus, agent: str, n: int) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "name": f"bench-{status.value.lower()}-{n}",
        "owner_id": template.owner_id,
        "project_id": template.project_id,
        "resource_group_id": template.resource_group_id,
        "environment_id": template.environment_id,
        "agent_id": agent,
        "type": template.type,
        "command": "true",
        "requested": template.requested,
        "status": status,
        "created_at": template.created_at,
        "status_changed_at": template.created_at,
    }


@contextmanager
def serving(database: Database, settings: Settings) -> Iterator[str]:
    """The app on a free loopback port in a background thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(settings, database=database, run_scheduler=False)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise BenchFailed("the server did not start")
            time.sleep(0.05)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def scrapes(base_url: str, counter: StatementCounter, n: int) -> dict[str, Any]:
    seconds, statements = [], set()
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        body = client.get("/metrics").text  # warm-up, and the figures to check
        if "shipyard_database_up 1.0" not in body:
            raise BenchFailed("the scrape could not read the database")
        for _ in range(n):
            counter.reset()
            started = time.perf_counter()
            response = client.get("/metrics")
            seconds.append(time.perf_counter() - started)
            statements.add(counter.count)
            if response.status_code != 200:
                raise BenchFailed(f"/metrics answered {response.status_code}")
    return {
        "scrape_p50_ms": ms(seconds, 50),
        "scrape_p99_ms": ms(seconds, 99),
        "statements_per_scrape": sorted(statements),
        "response_kib": round(len(body) / 1024, 1),
    }


def middleware_cost() -> dict[str, float]:
    """Microseconds per request for a no-op ASGI app, bare and wrapped."""

    async def bare(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def nothing(message: Any) -> None:
        return None

    async def receive() -> Any:
        return {"type": "http.request"}

    async def timed(app: Any) -> float:
        scope = {"type": "http", "method": "GET", "path": "/x"}
        started = time.perf_counter()
        for _ in range(MIDDLEWARE_CALLS):
            await app(dict(scope), receive, nothing)
        return (time.perf_counter() - started) / MIDDLEWARE_CALLS * 1e6

    wrapped = HttpMetricsMiddleware(bare, metrics=Metrics())
    plain_us, wrapped_us = asyncio.run(timed(bare)), asyncio.run(timed(wrapped))
    return {
        "bare_us": round(plain_us, 2),
        "with_middleware_us": round(wrapped_us, 2),
        "overhead_us": round(wrapped_us - plain_us, 2),
    }


def run(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, metrics_token=TOKEN)
    database = Database(settings.effective_database_url)
    try:
        note(f"seeding {args.agents} agents, {args.running} running, {args.finished} finished")
        seed(database, settings, args)
        counter = StatementCounter(database)
        with serving(database, settings) as base_url:
            figures = scrapes(base_url, counter, args.scrapes)
    finally:
        database.dispose()
    return {
        "bench": "metrics",
        "agents": args.agents,
        "running_sessions": args.running,
        "finished_sessions": args.finished,
        "scrapes": args.scrapes,
        **figures,
        "middleware": middleware_cost(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--running", type=int, default=20000)
    parser.add_argument("--finished", type=int, default=200000)
    parser.add_argument("--scrapes", type=int, default=100)
    args = parser.parse_args()
    if min(args.agents, args.scrapes) < 1 or min(args.running, args.finished) < 0:
        parser.error("--agents and --scrapes must be at least 1, the others at least 0")
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
