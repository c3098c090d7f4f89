"""The maintenance jobs: recalculate usage (rebuild the ledger) and rescan environments."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipyard.agents.models import Agent, ResourceGroup
from shipyard.environments import service as environments
from shipyard.maintenance.models import TaskKind
from shipyard.maintenance.work import Job, Work
from shipyard.projects.models import Project
from shipyard.resources import ledger
from shipyard.resources.models import Scope
from shipyard.resources.slots import amount_text, from_units
from shipyard.sessions import recount
from shipyard.users.models import User

BATCH = 200  # scopes rebuilt per locked transaction: writers wait at most one batch


def recalculate_usage(work: Work) -> dict[str, Any]:
    """Rebuild the ledger from the occupying sessions, a batch of scopes at a time.

    Each batch is one transaction serialised with the ledger's writers (ledger.rebuild
    locks), so a session starting or stopping meanwhile is counted exactly once. Progress
    is the number of scopes (users, projects, groups, agents) checked."""
    db = work.db
    plan = [(scope, recount.scope_ids(db, scope)) for scope in Scope]
    total = sum(len(ids) for _scope, ids in plan)
    work.progress(done=0, total=total)
    drifts: list[ledger.Drift] = []
    done = 0
    for scope, ids in plan:
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            drifts += recount.rebuild(db, scope=scope, ids=batch)
            done += len(batch)
            work.progress(done=done, total=total)
    return {"drifts": describe(db, drifts), "scopes": total}


def describe(db: Session, drifts: list[ledger.Drift]) -> list[dict[str, str]]:
    """Each drift with the readable name of what it is about and exact amounts."""
    names = _names(db, drifts)
    return [
        {
            "scope": drift.scope.value,
            "scope_id": drift.scope_id,
            "name": names.get((drift.scope, drift.scope_id), drift.scope_id),
            "slot": drift.slot,
            "recorded": amount_text(from_units(drift.slot, drift.recorded)),
            "actual": amount_text(from_units(drift.slot, drift.actual)),
        }
        for drift in drifts
    ]


_NAMED = {
    Scope.USER: (User.id, User.email),
    Scope.PROJECT: (Project.id, Project.name),
    Scope.GROUP: (ResourceGroup.id, ResourceGroup.name),
    Scope.AGENT: (Agent.id, Agent.hostname),
}


def _names(db: Session, drifts: Iterable[ledger.Drift]) -> dict[tuple[Scope, str], str]:
    """One query per scope kind that drifted."""
    wanted: dict[Scope, set[str]] = {}
    for drift in drifts:
        wanted.setdefault(drift.scope, set()).add(drift.scope_id)
    names: dict[tuple[Scope, str], str] = {}
    for scope, ids in wanted.items():
        key, label = _NAMED[scope]
        keys = list(ids) if scope is Scope.AGENT else [u for u in map(_uuid, ids) if u]
        for found_id, name in db.execute(select(key, label).where(key.in_(keys))):
            shown = f"{found_id} ({name})" if scope is Scope.AGENT and name else str(name)
            names[scope, str(found_id)] = shown
    return names


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def rescan_environments(work: Work) -> dict[str, Any]:
    """Look for virtual environments under the configured directories."""
    work.progress(done=0, total=1)
    found = environments.rescan(work.db, work.settings.environment_dirs)
    return {"added": found.added, "kept": found.kept, "disabled": found.disabled}


JOBS: dict[TaskKind, Job] = {
    TaskKind.RECALCULATE_USAGE: recalculate_usage,
    TaskKind.RESCAN_ENVIRONMENTS: rescan_environments,
}
