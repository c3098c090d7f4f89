"""The admin users list at 10k users, over real HTTP, against the DESIGN §11 target.

Seeds a throwaway SQLite data dir with the first admin and 10,000 users (one bulk insert,
one argon2 hash shared by all, every user in the default project, some with a policy of
their own), serves the real app with uvicorn on a loopback port and, as the admin, measures
sequentially: the console page /admin/users (first page, and a search that walks the
table), the htmx table refresh of page 100, and GET /api/v1/admin/users. SQL statements
are counted per request. Prints one JSON line on stdout; logs go to stderr.

    .venv/bin/python bench/admin_users.py [--users 10000] [--requests 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from common import BenchFailed, StatementCounter, ms
from login_summary import expect, login_form, serving, submit_login
from sqlalchemy import insert

from shipyard.admin import bootstrap
from shipyard.auth import passwords
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.policies import service as policies
from shipyard.policies.models import PolicyKind
from shipyard.projects import service as projects
from shipyard.projects.models import ProjectMember
from shipyard.users.models import User

PASSWORD = "bench-Passw0rd!"
WARMUP = 20
TARGETS = {"p50_ms_max": 30, "requests_per_second_min": 200}  # DESIGN §11


def note(message: str) -> None:
    print(f"admin_users: {message}", file=sys.stderr, flush=True)


def seed(settings: Settings, database: Database, count: int) -> str:
    """The first admin and `count` users; returns the admin's password."""
    admin_password = bootstrap.prepare(settings, database).generated_password
    if admin_password is None:
        raise BenchFailed("the database already had users; give an empty one")
    hashed = passwords.hash_password(settings, PASSWORD)
    with database.session() as db:
        default = projects.default_project(db).id
        policy = policies.create_policy(db, name="gpu-small", kind=PolicyKind.USER).id
        users = [
            {
                "id": uuid.uuid4(),
                "email": f"user{number:05d}@bench.local",
                "full_name": f"Bench User {number}",
                "password_hash": hashed,
                "resource_policy_id": policy if number % 10 == 0 else None,
            }
            for number in range(count)
        ]
        db.execute(insert(User), users)
        db.execute(
            insert(ProjectMember), [{"project_id": default, "user_id": u["id"]} for u in users]
        )
        db.commit()
    return admin_password


def measure(
    client: httpx.Client, counter: StatementCounter, path: str, n: int, **kwargs: Any
) -> dict[str, Any]:
    """N sequential GETs of `path` after WARMUP untimed ones: latency, rate, statements."""
    get: Callable[[], httpx.Response] = lambda: expect(client.get(path, **kwargs), 200)  # noqa: E731
    for _ in range(WARMUP):
        get()
    seconds, statements = [], []
    began = time.perf_counter()
    for _ in range(n):
        counter.reset()
        start = time.perf_counter()
        get()
        seconds.append(time.perf_counter() - start)
        statements.append(counter.count)
    elapsed = time.perf_counter() - began
    return {
        "n": n,
        "p50_ms": ms(seconds, 50),
        "p99_ms": ms(seconds, 99),
        "requests_per_second": round(n / elapsed, 1),
        "statements_median": statistics.median_low(statements),
        "statements_constant": min(statements) == max(statements),
    }


def run(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir)
    database = Database(settings.effective_database_url)
    try:
        note(f"seeding {args.users} users in {data_dir}")
        admin_password = seed(settings, database, args.users)
        counter = StatementCounter(database)
        with serving(database, settings) as base_url, httpx.Client(base_url=base_url) as client:
            note(f"serving on {base_url}; {args.requests} requests per case")
            credentials = {"email": settings.admin_email, "password": admin_password}
            issued = expect(httpx.post(f"{base_url}/api/v1/auth/login", json=credentials), 201)
            bearer = {"Authorization": f"Bearer {issued.json()['token']}"}
            submit_login(client, login_form(client, settings.admin_email, admin_password))
            results = {
                "console_first_page": measure(client, counter, "/admin/users", args.requests),
                "console_search": measure(
                    client, counter, "/admin/users?q=user 4999", args.requests
                ),
                "console_htmx_page_100": measure(
                    client,
                    counter,
                    "/admin/users?page=100",
                    args.requests,
                    headers={"HX-Request": "true"},
                ),
                "api_list": measure(
                    client, counter, "/api/v1/admin/users", args.requests, headers=bearer
                ),
            }
    finally:
        database.dispose()
    first = results["console_first_page"]
    met = (
        first["p50_ms"] <= TARGETS["p50_ms_max"]
        and first["requests_per_second"] >= TARGETS["requests_per_second_min"]
    )
    return {
        "bench": "admin_users",
        "database": "sqlite",
        "users": args.users,
        **results,
        "targets": TARGETS,
        "met": met,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000, help="users to seed")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per case")
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
