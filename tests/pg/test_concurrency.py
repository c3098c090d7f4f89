"""What only a real PostgreSQL shows: concurrent writers racing for the same row."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from shipyard.config import Settings
from shipyard.db import Database
from shipyard.errors import Conflict
from shipyard.projects import service as projects
from shipyard.projects.models import DEFAULT_PROJECT, Project
from shipyard.users import service as users
from shipyard.users.models import User

WORKERS = 8


def race(action: Callable[[], str]) -> list[str]:
    """Run `action` in WORKERS threads released at the same moment."""
    barrier = threading.Barrier(WORKERS)

    def run() -> str:
        barrier.wait()
        return action()

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda _: run(), range(WORKERS)))


def test_one_email_registered_concurrently_yields_one_user(
    database: Database, settings: Settings
) -> None:
    def register() -> str:
        with database.session() as db:
            try:
                users.create_user(
                    db, email="race@example.org", password="correct-Horse-7", settings=settings
                )
            except Conflict as exc:
                return exc.message
            return "created"

    outcomes = race(register)
    assert outcomes.count("created") == 1
    assert set(outcomes) - {"created"} == {"A user with this email already exists."}
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(User)) == 1


def test_the_default_project_is_created_once_under_contention(database: Database) -> None:
    def ensure() -> str:
        with database.session() as db:
            project = projects.default_project(db)
            db.commit()
            return str(project.id)

    ids = race(ensure)
    assert len(set(ids)) == 1
    with database.session() as db:
        count = db.scalar(
            select(func.count()).select_from(Project).where(Project.name == DEFAULT_PROJECT)
        )
    assert count == 1
