"""Maintenance tasks through the API (admins only): start one, follow it, list recent ones."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from shipyard.api.deps import AdminUser, require_admin
from shipyard.http.deps import DbDep
from shipyard.maintenance import service as maintenance
from shipyard.maintenance.runner import Runner, runner_of
from shipyard.maintenance.schemas import TaskPublic, TasksPublic, TaskStart

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


def task_runner(request: Request) -> Runner:
    return runner_of(request.app.state)


RunnerDep = Annotated[Runner, Depends(task_runner)]


@router.post("/tasks", status_code=status.HTTP_202_ACCEPTED)
def start_task(body: TaskStart, admin: AdminUser, db: DbDep, runner: RunnerDep) -> TaskPublic:
    """Start a task in the background (409 while one of its kind runs); poll it by id."""
    task = maintenance.start(db, runner, kind=body.kind, by=admin)
    return maintenance.get(db, task.id)


@router.get("/tasks")
def list_tasks(
    db: DbDep, limit: Annotated[int, Query(ge=1, le=100)] = maintenance.RECENT
) -> TasksPublic:
    """The most recent tasks, newest first."""
    return TasksPublic(data=maintenance.recent(db, limit=limit), count=maintenance.count(db))


@router.get("/tasks/{task_id}")
def get_task(task_id: uuid.UUID, db: DbDep) -> TaskPublic:
    """One task: state, progress out of total, and its result when it has ended."""
    return maintenance.get(db, task_id)
