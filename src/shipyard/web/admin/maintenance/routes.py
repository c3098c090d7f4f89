"""The console's maintenance page (admins only): start a task, watch its progress bar (htmx
polls the task's card every second while it runs), see its result and recent history."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from shipyard.errors import Conflict, InvalidInput, ShipyardError
from shipyard.http.deps import DbDep
from shipyard.i18n import _
from shipyard.maintenance import service as maintenance
from shipyard.maintenance.models import AdminTask, TaskKind
from shipyard.maintenance.runner import Runner, runner_of
from shipyard.maintenance.schemas import TaskPublic
from shipyard.web import kit
from shipyard.web.admin.maintenance import view
from shipyard.web.deps import CurrentAdmin, Viewer
from shipyard.web.htmx import FRAGMENT_ONLY, is_htmx, render, trigger

router = APIRouter(prefix="/admin/maintenance")
TASKS_CHANGED = "shipyard:tasks-changed"


def task_runner(request: Request) -> Runner:
    return runner_of(request.app.state)


RunnerDep = Annotated[Runner, Depends(task_runner)]


def _card(
    request: Request,
    viewer: Viewer,
    *,
    kind: TaskKind,
    task: TaskPublic | None,
    error: dict[str, str] | None = None,
) -> HTMLResponse:
    context = {"kind": kind, "task": task, "error": error, **view.looks()}
    return render(request, "admin/_task_card.html", context, viewer=viewer)


@router.get("")
def maintenance_page(request: Request, viewer: CurrentAdmin, db: DbDep) -> HTMLResponse:
    """Both tasks with their latest run, and the recent history (state lives in the DB)."""
    context: dict[str, Any] = {
        "latest": maintenance.latest_of_each(db),
        "history": maintenance.recent(db),
        **view.looks(),
    }
    return render(request, "admin/maintenance.html", context, viewer=viewer)


@router.post("/tasks")
def start_task(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    runner: RunnerDep,
    kind: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Start a task; htmx gets its card back (running, or why it could not start)."""
    chosen = _kind(kind)

    def started(task: AdminTask) -> Response:
        if not is_htmx(request):
            return kit.see_other(f"/admin/maintenance#task-{task.id}")
        card = _card(request, viewer, kind=chosen, task=maintenance.get(db, task.id))
        return trigger(card, TASKS_CHANGED)

    return kit.attempt(
        lambda: maintenance.start(db, runner, kind=chosen, by=viewer.user),
        on_done=started,
        on_refused=lambda exc: _refused(request, viewer, db, chosen, exc),
        catch=(Conflict,),
    )


def _kind(value: str) -> TaskKind:
    try:
        return TaskKind(value)
    except ValueError:
        raise InvalidInput(_("Unknown maintenance task.")) from None


def _refused(
    request: Request, viewer: Viewer, db: DbDep, kind: TaskKind, exc: ShipyardError
) -> Response:
    """Why the task could not start (one of its kind runs): on its card, or on the page."""
    running = maintenance.recent(db, limit=1, kind=kind)
    details = exc.details if isinstance(exc.details, dict) else {}
    error = {"message": exc.message, "url": str(details.get("url", ""))}
    if is_htmx(request):
        return _card(request, viewer, kind=kind, task=running[0] if running else None, error=error)
    context: dict[str, Any] = {
        "latest": maintenance.latest_of_each(db),
        "history": maintenance.recent(db),
        "errors": {kind: error},
        **view.looks(),
    }
    return render(request, "admin/maintenance.html", context, viewer=viewer, status_code=409)


@router.get("/tasks/{task_id}")
def task_card(request: Request, viewer: CurrentAdmin, db: DbDep, task_id: uuid.UUID) -> Response:
    """A task's card (htmx polls it while the task runs); a plain visit goes to the page."""
    task = maintenance.get(db, task_id)
    if not is_htmx(request):
        return kit.see_other(f"/admin/maintenance#task-{task.id}")
    card = _card(request, viewer, kind=task.kind, task=task)
    return card if task.active else trigger(card, TASKS_CHANGED)


@router.get("/history", dependencies=[FRAGMENT_ONLY])
def history(request: Request, viewer: CurrentAdmin, db: DbDep) -> HTMLResponse:
    context = {"history": maintenance.recent(db), **view.looks()}
    return render(request, "admin/_task_history.html", context, viewer=viewer)
