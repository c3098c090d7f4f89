"""One app, bound again: the tests share one app per worker, so a binding must leave nothing
of the last one behind (database, settings, middleware limits, state set by requests)."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shipyard.app import bind
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.maintenance.runner import runner_of
from tests.factories import Factory

LOGIN = "/api/v1/auth/login"


def other_database(tmp_path: Path, template: Path) -> Database:
    target = tmp_path / "other.db"
    shutil.copyfile(template, target)
    return Database(f"sqlite:///{target}")


def test_a_new_binding_serves_only_its_own_database_and_settings(
    app: FastAPI,
    factory: Factory,
    settings: Settings,
    database: Database,
    tmp_path: Path,
    sqlite_template: Path,
) -> None:
    account = factory.user()
    body = {"email": account.email, "password": account.password, "token_name": "t" * 2000}
    small = settings.model_copy(update={"request_max_body_bytes": 1024})
    bind(app, small, database=database, run_scheduler=False)
    with TestClient(app) as client:
        assert client.post(LOGIN, json=body).status_code == 413
        assert client.post(LOGIN, json={**body, "token_name": "cli"}).status_code == 201

    other = other_database(tmp_path, sqlite_template)
    bind(app, settings, database=other, run_scheduler=False)
    with TestClient(app) as client:
        assert client.post(LOGIN, json=body).status_code == 422  # past the old size limit
        assert client.post(LOGIN, json={**body, "token_name": "cli"}).status_code == 401  # no user
    other.dispose()


def test_state_made_while_serving_goes_with_the_binding(
    app: FastAPI, settings: Settings, database: Database
) -> None:
    runner = runner_of(app.state)
    assert runner_of(app.state) is runner
    bind(app, settings, database=database, run_scheduler=False)
    assert runner_of(app.state) is not runner
