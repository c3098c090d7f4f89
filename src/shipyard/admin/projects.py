"""Administration of projects: list, create, change settings, policy and resource groups.

Deactivating a project cancels its pending sessions and refuses new ones (members no
longer see it); sessions already running keep running. The default project, which every
user belongs to, cannot be renamed or deactivated. Every change records an audit entry in
the same transaction. Members are managed in projects/admin_members.py.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shipyard.agents import service as agents
from shipyard.agents.models import ResourceGroup, ResourceGroupProject
from shipyard.audit import service as audit
from shipyard.audit.models import Action
from shipyard.errors import InvalidInput, NotFound
from shipyard.i18n import _
from shipyard.policies import fields
from shipyard.policies import service as policies
from shipyard.policies.models import PolicyKind, ResourcePolicy
from shipyard.projects.admin_schemas import PolicyRef, ProjectAdminPublic, ProjectCreate
from shipyard.projects.models import DEFAULT_PROJECT, Project, ProjectMember
from shipyard.resources import ledger
from shipyard.resources.ledger import EMPTY, Held
from shipyard.resources.models import Scope
from shipyard.sessions import lifecycle
from shipyard.sessions.models import ComputeSession, SessionStatus
from shipyard.storage import mounts
from shipyard.users.models import User

PER_PAGE = 50


@dataclass(frozen=True)
class ProjectRow:
    """A project as the admin list shows it."""

    project: Project
    member_count: int
    policy: ResourcePolicy
    own_policy: bool
    groups: list[str]
    held: Held


@dataclass(frozen=True)
class ProjectPage:
    rows: list[ProjectRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


# Reading ------------------------------------------------------------------------------------


def list_projects(
    db: Session, *, search: str = "", page: int = 1, per_page: int = PER_PAGE
) -> ProjectPage:
    """One page of projects by name, matching `search` in name or description.

    A fixed number of statements whatever the page holds: count, page, policies, groups, usage.
    """
    where = []
    if search.strip():
        needle = search.strip().lower()
        where.append(
            or_(
                func.lower(Project.name).contains(needle, autoescape=True),
                func.lower(Project.description).contains(needle, autoescape=True),
            )
        )
    total = db.scalar(select(func.count()).select_from(Project).where(*where)) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    members = (
        select(ProjectMember.project_id, func.count().label("n"))
        .group_by(ProjectMember.project_id)
        .subquery()
    )
    found = db.execute(
        select(Project, func.coalesce(members.c.n, 0))
        .outerjoin(members, members.c.project_id == Project.id)
        .where(*where)
        .order_by(Project.name)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    counted = [(project, int(n)) for project, n in found]
    rows = _rows(db, counted)
    return ProjectPage(rows=rows, total=total, page=page, per_page=per_page)


def _rows(db: Session, counted: list[tuple[Project, int]]) -> list[ProjectRow]:
    ids = [project.id for project, _n in counted]
    own = {p.resource_policy_id for p, _n in counted if p.resource_policy_id is not None}
    by_id = policies.policies_by_id(db, PolicyKind.PROJECT, own)
    groups = _group_names(db, ids)
    held = ledger.held(db, Scope.PROJECT, [str(i) for i in ids])
    return [
        ProjectRow(
            project=project,
            member_count=n,
            policy=by_id.get(project.resource_policy_id, by_id[None]),
            own_policy=project.resource_policy_id is not None
            and project.resource_policy_id in by_id,
            groups=groups.get(project.id, []),
            held=held.get(str(project.id), EMPTY),
        )
        for project, n in counted
    ]


def _group_names(db: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    names: dict[uuid.UUID, list[str]] = defaultdict(list)
    if not ids:
        return names
    rows = db.execute(
        select(ResourceGroupProject.project_id, ResourceGroup.name)
        .join(ResourceGroup, ResourceGroup.id == ResourceGroupProject.resource_group_id)
        .where(ResourceGroupProject.project_id.in_(ids), ResourceGroup.is_active.is_(True))
        .order_by(ResourceGroup.name)
    )
    for project_id, name in rows:
        names[project_id].append(name)
    return names


def find_project(db: Session, ref: str) -> Project:
    """A project by id or by name."""
    try:
        project = db.get(Project, uuid.UUID(ref))
    except ValueError:
        project = db.scalar(select(Project).where(Project.name == ref))
    if project is None:
        raise NotFound(_("No such project: %(name)s.") % {"name": ref[:64]})
    return project


def row_of(db: Session, project: Project) -> ProjectRow:
    count = db.scalar(
        select(func.count())
        .select_from(ProjectMember)
        .where(ProjectMember.project_id == project.id)
    )
    return _rows(db, [(project, count or 0)])[0]


def active_groups(db: Session) -> list[ResourceGroup]:
    """The groups a project may be allowed to use (the console's checkboxes)."""
    query = select(ResourceGroup).where(ResourceGroup.is_active.is_(True))
    return list(db.scalars(query.order_by(ResourceGroup.name)))


def project_policies(db: Session) -> list[ResourcePolicy]:
    policies.default_policy(db, PolicyKind.PROJECT)
    query = select(ResourcePolicy).where(ResourcePolicy.kind == PolicyKind.PROJECT)
    return list(db.scalars(query.order_by(ResourcePolicy.is_default.desc(), ResourcePolicy.name)))


def present(row: ProjectRow) -> ProjectAdminPublic:
    project, policy = row.project, row.policy
    return ProjectAdminPublic(
        id=project.id,
        name=project.name,
        description=project.description,
        is_active=project.is_active,
        member_count=row.member_count,
        resource_policy=PolicyRef(id=policy.id, name=policy.name, is_default=policy.is_default),
        own_policy=row.own_policy,
        resource_groups=row.groups,
        usage=row.held.slots.to_json(),
        sessions=row.held.sessions,
    )


# Changing -----------------------------------------------------------------------------------


def create_project(db: Session, *, admin: User, spec: ProjectCreate) -> Project:
    """A new active project without members, allowed the named groups (else the default)."""
    errors: dict[str, str] = {}
    name = _collect(errors, "name", lambda: _unique_name(db, spec.name, current=None))
    policy = _collect(errors, "resource_policy", lambda: _policy(db, spec.resource_policy))
    groups = _collect(errors, "resource_groups", lambda: _groups(db, spec.resource_groups))
    _raise(errors)
    project = Project(name=name, description=spec.description.strip())
    project.resource_policy_id = policy.id if policy else None
    db.add(project)
    db.flush()
    for group in groups or [agents.default_group(db)]:
        db.add(ResourceGroupProject(resource_group_id=group.id, project_id=project.id))
    _record(db, Action.PROJECT_CREATE, admin, project, {"description": project.description})
    db.commit()
    return project


def update_project(
    db: Session, *, admin: User, project: Project, changes: Mapping[str, Any]
) -> Project:
    """Apply the fields given in `changes` (a PATCH's set fields), all checked first."""
    values = _checked(db, project, changes)
    settings: dict[str, Any] = {
        k: values[k] for k in ("name", "description", "is_active") if k in values
    }
    before = {k: getattr(project, k) for k in settings}
    for key, value in settings.items():
        setattr(project, key, value)
    changed = {k: {"from": before[k], "to": v} for k, v in settings.items() if before[k] != v}
    if changed:
        _record(db, Action.PROJECT_UPDATE, admin, project, changed)
    if changed.get("is_active", {}).get("to") is False:
        _cancel_pending(db, project)
        mounts.recheck(db, projects=[project.id])  # running sessions lose its folders
    if "resource_policy" in values:
        _change_policy(db, admin, project, values["resource_policy"])
    if "resource_groups" in values:
        _change_groups(db, admin, project, values["resource_groups"])
    db.commit()
    return project


def _checked(db: Session, project: Project, changes: Mapping[str, Any]) -> dict[str, Any]:
    checks: dict[str, Callable[[Any], Any]] = {
        "name": lambda value: _unique_name(db, value, current=project),
        "description": lambda value: value.strip(),
        "is_active": lambda value: _activity(project, value),
        "resource_policy": lambda value: _policy(db, value),
        "resource_groups": lambda value: _groups(db, value),
    }
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, value in changes.items():
        if key in checks and (value is not None or key == "resource_policy"):
            values[key] = _collect(errors, key, partial(checks[key], value))
    _raise(errors)
    return values


def _collect(errors: dict[str, str], field: str, check: Callable[[], Any]) -> Any:
    """check() or None, its InvalidInput noted under `field` (so every field is checked)."""
    try:
        return check()
    except InvalidInput as exc:
        errors[field] = exc.message
        return None


def _raise(errors: dict[str, str]) -> None:
    if errors:
        first = next(iter(errors))
        raise InvalidInput(errors[first], details={"field": first, "fields": errors})


def _unique_name(db: Session, value: str, *, current: Project | None) -> str:
    name = fields.name("name", value)
    if current is not None and current.name == DEFAULT_PROJECT and name != current.name:
        raise InvalidInput(_("The default project cannot be renamed."))
    clash = db.scalar(select(Project.id).where(Project.name == name))
    if clash is not None and (current is None or clash != current.id):
        raise InvalidInput(_("Another project is already called %(name)s.") % {"name": name})
    return name


def _activity(project: Project, active: bool) -> bool:
    if project.name == DEFAULT_PROJECT and not active:
        raise InvalidInput(_("The default project cannot be deactivated: every user is in it."))
    return active


def _policy(db: Session, ref: str | None) -> ResourcePolicy | None:
    """A project policy by id or name; None (the default) for an empty reference."""
    if ref is None or not ref.strip():
        return None
    query = select(ResourcePolicy).where(ResourcePolicy.kind == PolicyKind.PROJECT)
    try:
        policy = db.scalar(query.where(ResourcePolicy.id == uuid.UUID(ref)))
    except ValueError:
        policy = db.scalar(query.where(ResourcePolicy.name == ref.strip()))
    if policy is None:
        raise InvalidInput(_("No project policy is called %(name)s.") % {"name": ref[:64]})
    return None if policy.is_default else policy


def _groups(db: Session, names: list[str] | None) -> list[ResourceGroup] | None:
    if names is None:
        return None
    wanted = {name.strip() for name in names if name.strip()}
    found = {g.name: g for g in active_groups(db) if g.name in wanted or str(g.id) in wanted}
    found.update({str(g.id): g for g in found.values()})
    unknown = sorted(wanted - set(found))
    if unknown:
        raise InvalidInput(
            _("No active resource group is called %(names)s.") % {"names": ", ".join(unknown)}
        )
    return sorted({g.id: g for g in found.values()}.values(), key=lambda g: g.name)


def _cancel_pending(db: Session, project: Project) -> None:
    pending = db.scalars(
        select(ComputeSession).where(
            ComputeSession.project_id == project.id,
            ComputeSession.status == SessionStatus.PENDING,
        )
    )
    reason = _("Cancelled: the project was deactivated.")
    for session in list(pending):
        lifecycle.move(db, session, SessionStatus.CANCELLED, reason)


def _change_policy(
    db: Session, admin: User, project: Project, policy: ResourcePolicy | None
) -> None:
    new_id = policy.id if policy is not None else None
    if project.resource_policy_id == new_id:
        return
    old = policies.policy_of_project(db, project)
    project.resource_policy_id = new_id
    to = policy.name if policy is not None else policies.default_policy(db, PolicyKind.PROJECT).name
    _record(db, Action.PROJECT_POLICY_CHANGE, admin, project, {"from": old.name, "to": to})


def _change_groups(db: Session, admin: User, project: Project, groups: list[ResourceGroup]) -> None:
    """Allow exactly `groups` among the active ones (inactive groups' entries stay)."""
    current = {g.id: g for g in agents.groups_of_project(db, project.id)}
    wanted = {g.id: g for g in groups}
    for group_id in current.keys() - wanted.keys():
        row = db.get(ResourceGroupProject, (group_id, project.id))
        if row is not None:
            db.delete(row)
    for group_id in wanted.keys() - current.keys():
        db.add(ResourceGroupProject(resource_group_id=group_id, project_id=project.id))
    if current.keys() != wanted.keys():
        details = {
            "from": sorted(g.name for g in current.values()),
            "to": sorted(g.name for g in wanted.values()),
        }
        _record(db, Action.PROJECT_GROUPS_CHANGE, admin, project, details)


def _record(
    db: Session, action: Action, admin: User, project: Project, details: dict[str, Any]
) -> None:
    audit.record(
        db,
        action,
        actor=admin,
        target_type="project",
        target_id=project.id,
        target_label=project.name,
        details=details,
    )
