"""Test helpers for the Summary figures: resource groups, project policies, sessions placed
by scheduler rounds, and reading the figures out of the rendered panels."""

from __future__ import annotations

import itertools
import re

from shipyard.agents import service as agents
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.policies import service as policies
from shipyard.policies.models import PolicyKind
from shipyard.projects.models import Project
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import service as sessions
from shipyard.sessions.models import ComputeSession, SessionType
from shipyard.sessions.schemas import SessionCreate
from shipyard.users.models import User

_names = itertools.count(1)


def new_group(database: Database, *, projects: tuple[Project, ...]) -> str:
    """A resource group the given projects may use; returns its name."""
    name = f"group-{next(_names)}"
    with database.session() as db:
        group = agents.create_group(db, name=name)
        for project in projects:
            agents.allow_project(db, group=group, project=db.merge(project))
        db.commit()
    return name


def project_policy(database: Database, project: Project, slots: dict[str, str]) -> None:
    with database.session() as db:
        policy = policies.create_policy(
            db, name=f"pp-{next(_names)}", kind=PolicyKind.PROJECT, total_slots=slots
        )
        db.merge(project).resource_policy_id = policy.id
        db.commit()


def start(
    database: Database,
    settings: Settings,
    owner: User,
    *,
    cpu: str = "1",
    mem: str = "1g",
    gpus: int = 0,
    project: Project | None = None,
    group: str | None = None,
) -> ComputeSession:
    """A new PENDING session of `owner` (placed by the next scheduler round)."""
    resources = {"cpu": cpu, "mem": mem}
    if gpus:
        resources["cuda.device"] = str(gpus)
    spec = SessionCreate(
        type=SessionType.BATCH,
        command="true",
        resources=resources,
        project=project.name if project else None,
        resource_group=group,
    )
    with database.session() as db:
        return sessions.create_session(db, settings, owner=db.merge(owner), spec=spec)


def run_round(database: Database) -> None:
    with database.session() as db:
        schedule_once(db)


def text_of(html: str, test_id: str) -> str:
    """The visible text of the element with data-testid=`test_id` (tags stripped, spaces folded)."""
    match = re.search(rf'data-testid="{re.escape(test_id)}"[^>]*>(.*?)</(?:span|dd|p)>', html, re.S)
    assert match, f"no element {test_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())
