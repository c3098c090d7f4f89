"""Maintenance tasks through the API: recalculate a corrupted ledger, rescan, one at a time."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from shipyard.audit.models import Action, AuditEntry
from shipyard.db import Database, utcnow
from shipyard.maintenance.models import AdminTask, TaskStatus
from shipyard.resources import ledger
from shipyard.resources.models import Scope
from shipyard.sessions import recount
from tests.api.test_sessions_api import bearer
from tests.factories import Factory
from tests.maintenance_helpers import (
    Gate,
    busy,
    corrupt,
    drift_tuples,
    expected_drifts,
    failing_job,
    install_gate,
    install_jobs,
    sessions_total,
    wait_until,
)

TASKS = "/api/v1/admin/tasks"


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.admin())


def finished(client: TestClient, headers: dict[str, str], task_id: str) -> dict[str, Any]:
    found: dict[str, Any] = wait_until(
        lambda: client.get(f"{TASKS}/{task_id}", headers=headers).json(),
        done=lambda task: task["state"] not in ("queued", "running"),
    )
    return found


@pytest.mark.db
def test_recalculate_reports_and_fixes_every_drift(
    client: TestClient, admin: dict[str, str], factory: Factory, database: Database
) -> None:
    world = busy(factory, database)
    corrupt(database, world)
    agent_path = f"/api/v1/admin/agents/{world.agent_id}"
    wrong = {s["slot"]: s["used"] for s in client.get(agent_path, headers=admin).json()["slots"]}
    assert wrong["mem"] == "0"

    started = client.post(TASKS, json={"kind": "recalculate_usage"}, headers=admin)
    assert started.status_code == 202, started.text
    assert started.json()["state"] in ("queued", "running", "succeeded")
    task = finished(client, admin, started.json()["id"])

    assert task["state"] == "succeeded", task
    assert (task["progress"], task["percent"]) == (task["total"], 100)
    assert drift_tuples(task["result"]) == expected_drifts(world)
    # the ledger now equals what the Sessions API says the sessions hold
    mine = client.get("/api/v1/sessions", headers=bearer(client, world.alice)).json()["data"]
    theirs = client.get("/api/v1/sessions", headers=bearer(client, world.bob)).json()["data"]
    agent = {s["slot"]: s["used"] for s in client.get(agent_path, headers=admin).json()["slots"]}
    for slot in ("cpu", "mem"):
        assert Decimal(agent[slot]) == sessions_total(mine + theirs, slot)
    with database.session() as db:
        held = ledger.held(db, Scope.USER, [str(world.alice.user.id)])[str(world.alice.user.id)]
        assert held.slots["cpu"] == sessions_total(mine, "cpu") == Decimal(3)
        assert recount.rebuild(db) == []

    again = finished(
        client,
        admin,
        client.post(TASKS, json={"kind": "recalculate_usage"}, headers=admin).json()["id"],
    )
    assert again["result"]["drifts"] == []


def test_recalculate_is_audited_with_the_drift_count(
    client: TestClient, admin: dict[str, str], factory: Factory, database: Database
) -> None:
    world = busy(factory, database)
    corrupt(database, world)
    task = client.post(TASKS, json={"kind": "recalculate_usage"}, headers=admin).json()
    finished(client, admin, task["id"])
    with database.session() as db:
        entry = db.scalar(
            select(AuditEntry).where(AuditEntry.action == Action.USAGE_RECALCULATE.value)
        )
    assert entry is not None
    assert entry.details["drifts"] == 3
    assert entry.target_id == task["id"]
    assert entry.success


def test_rescan_reports_added_kept_disabled(
    client: TestClient, admin: dict[str, str], app: FastAPI, tmp_path: Any
) -> None:
    venv = tmp_path / "envs" / "science"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "bin" / "python").symlink_to("/usr/bin/python3")
    app.state.settings.environment_dirs = [tmp_path / "envs"]

    task = client.post(TASKS, json={"kind": "rescan_environments"}, headers=admin).json()
    done = finished(client, admin, task["id"])
    assert done["state"] == "succeeded"
    assert done["result"] == {"added": ["science"], "kept": [], "disabled": []}
    again = finished(
        client,
        admin,
        client.post(TASKS, json={"kind": "rescan_environments"}, headers=admin).json()["id"],
    )
    assert again["result"] == {"added": [], "kept": ["science"], "disabled": []}


@pytest.mark.db
def test_a_second_task_of_a_kind_waits_for_the_first(
    client: TestClient, admin: dict[str, str], app: FastAPI, database: Database
) -> None:
    gate = Gate()
    install_gate(app, database, gate)
    first = client.post(TASKS, json={"kind": "rescan_environments"}, headers=admin).json()
    assert gate.reached.wait(30)
    running = client.get(f"{TASKS}/{first['id']}", headers=admin).json()
    assert (running["state"], running["progress"], running["total"]) == ("running", 2, 4)

    second = client.post(TASKS, json={"kind": "rescan_environments"}, headers=admin)
    assert second.status_code == 409
    error = second.json()["error"]
    assert "already running" in error["message"]
    assert error["details"]["task_id"] == first["id"]
    assert error["details"]["url"] == f"/admin/maintenance#task-{first['id']}"
    other = client.post(TASKS, json={"kind": "recalculate_usage"}, headers=admin)
    assert other.status_code == 202  # another kind may run meanwhile

    gate.opened.set()
    assert finished(client, admin, first["id"])["state"] == "succeeded"
    third = client.post(TASKS, json={"kind": "rescan_environments"}, headers=admin)
    assert third.status_code == 202
    finished(client, admin, third.json()["id"])
    finished(client, admin, other.json()["id"])


@pytest.mark.db
def test_a_task_whose_manager_died_shows_interrupted_and_blocks_nothing(
    client: TestClient, admin: dict[str, str], app: FastAPI, database: Database
) -> None:
    gate = Gate()
    install_gate(app, database, gate)
    task = client.post(TASKS, json={"kind": "rescan_environments"}, headers=admin).json()
    assert gate.reached.wait(30)
    with database.session() as db:  # its heartbeat stopped long ago: the manager is gone
        db.execute(update(AdminTask).values(heartbeat_at=utcnow() - timedelta(minutes=5)))
        db.commit()
    shown = client.get(f"{TASKS}/{task['id']}", headers=admin).json()
    assert shown["state"] == "interrupted"
    assert "stopped" in shown["message"]

    old_runner = app.state.task_runner
    install_jobs(app, database)  # a fresh manager with the real jobs
    fresh = client.post(TASKS, json={"kind": "rescan_environments"}, headers=admin)
    assert fresh.status_code == 202, fresh.text
    assert finished(client, admin, fresh.json()["id"])["state"] == "succeeded"
    gate.opened.set()  # the old runner wakes up: it must stop, not overwrite the verdict
    old_runner.join(30)
    with database.session() as db:
        old = db.get(AdminTask, uuid.UUID(task["id"]))
        assert old is not None
        assert (old.status, old.message) == (TaskStatus.FAILED, shown["message"])


def test_a_failing_task_says_so_without_a_trace(
    client: TestClient, admin: dict[str, str], app: FastAPI, database: Database
) -> None:
    install_jobs(app, database, recalculate_usage=failing_job)
    task = client.post(TASKS, json={"kind": "recalculate_usage"}, headers=admin).json()
    done = finished(client, admin, task["id"])
    assert done["state"] == "failed"
    assert "unexpectedly" in done["message"]
    assert "secret" not in done["message"]
    with database.session() as db:
        entry = db.scalar(
            select(AuditEntry).where(AuditEntry.action == Action.USAGE_RECALCULATE.value)
        )
    assert entry is not None
    assert not entry.success


def test_recent_tasks_newest_first(client: TestClient, admin: dict[str, str]) -> None:
    ids = []
    for kind in ("rescan_environments", "recalculate_usage"):
        ids.append(client.post(TASKS, json={"kind": kind}, headers=admin).json()["id"])
        finished(client, admin, ids[-1])
    listed = client.get(TASKS, headers=admin).json()
    assert listed["count"] == 2
    assert [t["id"] for t in listed["data"]] == ids[::-1]
    assert listed["data"][0]["started_by"].endswith("@example.org")


def test_bad_requests(client: TestClient, admin: dict[str, str]) -> None:
    assert client.post(TASKS, json={"kind": "format_disk"}, headers=admin).status_code == 422
    assert client.post(TASKS, json={}, headers=admin).status_code == 422
    assert client.get(f"{TASKS}/not-a-uuid", headers=admin).status_code == 422
    missing = client.get(f"{TASKS}/{'0' * 8}-0000-0000-0000-{'0' * 12}", headers=admin)
    assert missing.status_code == 404
    assert client.get(TASKS, params={"limit": 0}, headers=admin).status_code == 422


def test_normal_users_are_refused(client: TestClient, factory: Factory, database: Database) -> None:
    user = bearer(client, factory.user())
    assert client.post(TASKS, json={"kind": "recalculate_usage"}, headers=user).status_code == 403
    assert client.get(TASKS, headers=user).status_code == 403
    assert (
        client.get(f"{TASKS}/{'0' * 8}-0000-0000-0000-{'0' * 12}", headers=user).status_code == 403
    )
    assert client.get(TASKS).status_code == 401
    with database.session() as db:
        assert db.scalar(select(AdminTask)) is None
