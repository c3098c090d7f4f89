"""Fixtures shared by every lane: settings, a throwaway database, the app and its clients.

Set SHIPYARD_TEST_DATABASE_URL to a PostgreSQL URL to run the database tests there (the
pg lane); otherwise each test gets its own SQLite file copied from a migrated template.
The app is built once per worker (its routes and templates) and each test binds its own
settings and database to it (`shipyard.app.bind`), which replaces everything made from them.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text

from shipyard import migrate
from shipyard.admin.bootstrap import ensure_defaults
from shipyard.app import bind, create_app
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.models import Base
from tests.factories import Factory
from tests.querycount import QueryCounter

PG_URL_ENV = "SHIPYARD_TEST_DATABASE_URL"

# pytest-xdist workers start with COLUMNS=80, which Rich fixes as the CLI console's width when
# shipyard.cli.output is imported; CLI tests set their own COLUMNS and need it read afresh.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
LANES = ("unit", "api", "web", "browser", "agent", "images", "pg")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/pg runs only where a PostgreSQL is given; the lane then fails if it collects none."""
    if collection_path.name == "pg" and collection_path.is_dir() and not os.environ.get(PG_URL_ENV):
        return True
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reverse",
        action="store_true",
        help="run the tests in reverse order, to find one that passes only after another",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test is marked with its lane, the folder it lives in; --reverse turns the order.

    Tests of tests/pg and tests that count statements (the `queries` fixture) are marked `db`
    as well: the pg lane runs `db or smoke` on PostgreSQL.
    """
    if config.getoption("reverse"):
        items.reverse()
    for item in items:
        parts = Path(str(item.path)).parts
        for lane in LANES:
            if lane in parts:
                item.add_marker(getattr(pytest.mark, lane))
        if "pg" in parts or "queries" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


def pg_url() -> str | None:
    """The PostgreSQL to test on. Each lane (SHIPYARD_TEST_LANE, set by tools/lane.sh) and
    each pytest-xdist worker gets a database of its own next to the given one
    (`<name>_pg_gw0`, ...), created on first use: lanes run side by side."""
    url = os.environ.get(PG_URL_ENV) or None
    parts = [os.environ.get("SHIPYARD_TEST_LANE"), os.environ.get("PYTEST_XDIST_WORKER")]
    suffix = "_".join(part for part in parts if part)
    if url is None or not suffix:
        return url
    base = Settings(database_url=url).effective_database_url
    own = make_url(base).set(database=f"{make_url(base).database}_{suffix}")
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    finally:
        engine.dispose()
    return own.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with what every start ensures (default project, group, policies,
    environment), copied for each test."""
    path = tmp_path_factory.mktemp("template") / "shipyard.db"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database.engine)
    with database.session() as db:
        ensure_defaults(db)
    database.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[Database | None]:
    """Reset the given PostgreSQL to an empty public schema and migrate it once; the engine
    stays open for emptying the tables before each test."""
    url = pg_url()
    if url is None:
        yield None
        return
    database = Database(Settings(database_url=url).effective_database_url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(database.engine)
    yield database
    database.dispose()


# Every sequence of the schema starts again at 1, as in a fresh database.
RESTART_SEQUENCES = text(
    "SELECT setval(c.oid, 1, false) FROM pg_class c "
    "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"
)


def empty_pg(database: Database) -> None:
    """Empty every table as a freshly migrated database has them. DELETE in dependency order:
    on a few small tables it costs a tenth of a TRUNCATE, which makes new files for each."""
    with database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        connection.execute(RESTART_SEQUENCES)
        connection.execute(
            text("UPDATE alembic_version SET version_num = :head"),
            {"head": migrate.head_revision()},
        )


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path, pg_schema: Database | None) -> str:
    if pg_schema is None:
        target = tmp_path / "shipyard.db"
        shutil.copyfile(sqlite_template, target)
        return f"sqlite:///{target}"
    empty_pg(pg_schema)
    return pg_schema.url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Test settings: cheap argon2 parameters (the production ones are benchmarked instead)."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        argon2_parallelism=1,
    )


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    database = Database(settings.effective_database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def worker_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """One app per worker: its first request builds every route (~0.4 s), so tests share it."""
    root = tmp_path_factory.mktemp("worker-app")
    settings = Settings(data_dir=root / "data", database_url=f"sqlite:///{root / 'unused.db'}")
    return create_app(settings, run_scheduler=False)


@pytest.fixture
def app(worker_app: FastAPI, settings: Settings, database: Database) -> FastAPI:
    """The worker's app bound to this test's settings and database, without its background
    scheduler (tests drive scheduling rounds themselves); nothing of an earlier test stays."""
    bind(worker_app, settings, database=database, run_scheduler=False)
    worker_app.dependency_overrides.clear()
    return worker_app


AppWith = Callable[..., FastAPI]


@pytest.fixture
def app_with(app: FastAPI, settings: Settings, database: Database) -> AppWith:
    """This test's app with some settings changed (short timeouts, a trusted proxy). It is the
    same app bound again, so every client of it sees the change."""

    def changed(**changes: Any) -> FastAPI:
        bind(app, settings.model_copy(update=changes), database=database, run_scheduler=False)
        return app

    return changed


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def factory(database: Database, settings: Settings) -> Factory:
    return Factory(database, settings)


@pytest.fixture
def queries(database: Database) -> Iterator[QueryCounter]:
    """Counts the SQL statements the app runs on this test's engine."""
    with QueryCounter(database.engine) as counter:
        yield counter


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve this test's app on a free loopback port in a background thread."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """The system Chromium (playwright install cannot download here), quiet on a closed network."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
