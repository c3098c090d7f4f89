"""Console logins and Summary page renders, over real HTTP, against DESIGN §11 targets.

Seeds a throwaway data dir (SQLite, or an emptied PostgreSQL with --database-url), serves the
real app with uvicorn on a loopback port and drives it with httpx, so the figures include HTTP
parsing (and the client, which shares this process). Measures (a) GET /login + POST /login,
sequentially and from 4 client threads (also against `shipyard manager` in its own
process, so the client does not share the server's interpreter), and (b) GET / (the Summary
page) for one logged-in user; SQL statements are counted per request. Prints one JSON line
on stdout; logs go to stderr.

    .venv/bin/python bench/login_summary.py [--logins 200] [--renders 500] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from common import BenchFailed, StatementCounter, ms, shipyard_process
from sqlalchemy import text

from shipyard.admin import bootstrap
from shipyard.app import create_app
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.models import Base
from shipyard.users.service import create_user

EXTRA_USERS = 20
PASSWORD = "bench-Passw0rd!"
CLIENTS = 4
WARMUP = 20
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
TARGETS = {  # DESIGN §11
    "logins_per_second_min": 50,
    "login_p99_ms_max": 250,
    "summary_p50_ms_max": 25,
    "summary_p99_ms_max": 60,
    "summary_statements_max": 15,
}


def note(message: str) -> None:
    print(f"login_summary: {message}", file=sys.stderr, flush=True)


def expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code == status:
        return response
    request = f"{response.request.method} {response.request.url.path}"
    raise BenchFailed(f"{request} answered {response.status_code}, expected {status}")


def seed(settings: Settings, database: Database) -> list[tuple[str, str]]:
    """Migrate, create the first admin and EXTRA_USERS users; return (email, password) pairs."""
    if not settings.is_sqlite:  # one DROP ... CASCADE: metadata.drop_all() trips on a missing FK
        quote = database.engine.dialect.identifier_preparer.quote
        names = [quote(table.name) for table in Base.metadata.sorted_tables]
        with database.engine.begin() as connection:
            connection.execute(
                text(f"DROP TABLE IF EXISTS {', '.join(names)}, alembic_version CASCADE")
            )
    admin_password = bootstrap.prepare(settings, database).generated_password
    if admin_password is None:
        raise BenchFailed("the database already had users; give an empty one")
    users = [(settings.admin_email, admin_password)]
    with database.session() as db:
        for number in range(EXTRA_USERS):
            email = f"bench{number}@shipyard.local"
            create_user(db, email=email, password=PASSWORD, settings=settings)
            users.append((email, PASSWORD))
    return users


@contextmanager
def serving(database: Database, settings: Settings) -> Iterator[str]:
    """The app on a free loopback port in a background thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(settings, database=database)
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


def wait_healthy(base_url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and thread.is_alive():
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise BenchFailed(f"the server at {base_url} never answered /healthz")


def login_form(client: httpx.Client, email: str, password: str) -> dict[str, str]:
    """A fresh cookie jar, GET /login, and the form to post with its anonymous CSRF token."""
    client.cookies.clear()
    page = expect(client.get("/login"), 200)
    found = CSRF_FIELD.search(page.text)
    if found is None:
        raise BenchFailed("GET /login rendered no csrf_token field")
    return {"email": email, "password": password, "csrf_token": found[1], "next": "/"}


def submit_login(client: httpx.Client, form: dict[str, str]) -> None:
    response = expect(client.post("/login", data=form), 303)
    if "shipyard_session" not in response.cookies or response.headers["location"] != "/":
        raise BenchFailed(f"POST /login as {form['email']} set no session or went elsewhere")


def timed(counter: StatementCounter, request: Callable[[], object]) -> tuple[float, int]:
    """Seconds and SQL statements of one call of `request`."""
    counter.reset()
    start = time.perf_counter()
    request()
    return time.perf_counter() - start, counter.count


def parallel_logins(base_url: str, users: list[tuple[str, str]], n: int) -> float:
    """Logins per second with CLIENTS threads sharing N logins."""

    def worker(indices: range) -> None:
        with httpx.Client(base_url=base_url) as client:
            for index in indices:
                submit_login(client, login_form(client, *users[index % len(users)]))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(worker, [range(start, n, CLIENTS) for start in range(CLIENTS)]))
    return n / (time.perf_counter() - started)


def manager_env(settings: Settings) -> dict[str, str]:
    """`shipyard manager` on the seeded database, in its own process (no shared GIL)."""
    env = {**os.environ, "SHIPYARD_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["SHIPYARD_DATABASE_URL"] = settings.database_url
    return env


def bench_logins(
    base_url: str, users: list[tuple[str, str]], counter: StatementCounter, n: int
) -> dict[str, Any]:
    """N sequential logins (POST timed alone), then the same N spread over CLIENTS threads."""
    posts: list[float] = []
    statements: list[int] = []
    started = time.perf_counter()
    with httpx.Client(base_url=base_url) as client:
        for index in range(n):
            form = login_form(client, *users[index % len(users)])
            seconds, count = timed(counter, partial(submit_login, client, form))
            posts.append(seconds)
            statements.append(count)
    sequential = n / (time.perf_counter() - started)

    concurrent = parallel_logins(base_url, users, n)
    return {
        "n": n,
        "p50_ms": ms(posts, 50),
        "p99_ms": ms(posts, 99),
        "per_second_sequential": round(sequential, 1),
        "per_second_4_clients": round(concurrent, 1),
        "statements_median": statistics.median_low(statements),
    }


def bench_summary(
    base_url: str, user: tuple[str, str], counter: StatementCounter, n: int
) -> dict[str, Any]:
    """N renders of GET / by one logged-in client, after WARMUP untimed ones."""
    with httpx.Client(base_url=base_url) as client:
        submit_login(client, login_form(client, *user))
        for _ in range(WARMUP):
            expect(client.get("/"), 200)
        runs = [timed(counter, lambda: expect(client.get("/"), 200)) for _ in range(n)]
    seconds = [run[0] for run in runs]
    statements = [run[1] for run in runs]
    return {
        "n": n,
        "p50_ms": ms(seconds, 50),
        "p99_ms": ms(seconds, 99),
        "statements_median": statistics.median_low(statements),
        "statements_max": max(statements),
        "statements_constant": min(statements) == max(statements),
    }


def run(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, database_url=args.database_url)
    database = Database(settings.effective_database_url)
    try:
        note(f"seeding {database.engine.dialect.name} in {data_dir}")
        users = seed(settings, database)
        counter = StatementCounter(database)
        with serving(database, settings) as base_url:
            note(f"serving on {base_url}; {args.logins} logins, {args.renders} renders")
            logins = bench_logins(base_url, users, counter, args.logins)
            summary = bench_summary(base_url, users[0], counter, args.renders)
        with shipyard_process(["manager"], env=manager_env(settings)) as (base_url, _process):
            note("4 clients against `shipyard manager` in its own process")
            logins["per_second_4_clients_server_process"] = round(
                parallel_logins(base_url, users, args.logins), 1
            )
    finally:
        database.dispose()
    met = {  # throughput: 4 clients against a server process (one argon2 verify takes ~23 ms)
        "logins": logins["per_second_4_clients_server_process"] >= TARGETS["logins_per_second_min"]
        and logins["p99_ms"] <= TARGETS["login_p99_ms_max"],
        "summary": summary["p50_ms"] <= TARGETS["summary_p50_ms_max"]
        and summary["p99_ms"] <= TARGETS["summary_p99_ms_max"]
        and summary["statements_max"] <= TARGETS["summary_statements_max"],
    }
    return {
        "bench": "login_summary",
        "database": "sqlite" if settings.is_sqlite else "postgresql",
        "logins": logins,
        "summary": summary,
        "targets": TARGETS,
        "met": met,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=200, help="logins per phase")
    parser.add_argument("--renders", type=int, default=500, help="timed Summary renders")
    parser.add_argument("--database-url", help="PostgreSQL URL; its schema is dropped first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as data_dir:
        try:
            result = run(args, Path(data_dir))
        except (BenchFailed, httpx.HTTPError) as exc:
            note(f"FAILED: {exc}")
            return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
