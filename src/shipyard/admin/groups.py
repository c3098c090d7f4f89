"""Administration of resource groups: list with capacity and use, create, edit, allowed projects.

A group's network mode and allow-list reach sessions when they start (shipyard.agent.network);
allow-list entries are checked here with the agent's own parser, so an agent never gets one it
would refuse.

Capacity is what live (ALIVE) schedulable agents offer; use is the group's ledger entry. The
list costs four statements whatever the number of groups, agents and projects.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shipyard.admin.agents import slot_figures
from shipyard.agents.admin_schemas import (
    GROUP_NAME,
    MAX_ALLOW,
    GroupAdmin,
    GroupCreate,
    GroupUpdate,
)
from shipyard.agents.models import (
    DEFAULT_GROUP,
    Agent,
    AgentStatus,
    ResourceGroup,
    ResourceGroupProject,
)
from shipyard.audit import service as audit
from shipyard.audit.models import Action
from shipyard.errors import Conflict, InvalidInput, NotFound
from shipyard.i18n import _
from shipyard.projects.models import Project
from shipyard.resources import ledger
from shipyard.resources.ledger import EMPTY
from shipyard.resources.models import Scope
from shipyard.resources.slots import ResourceSlots
from shipyard.users.models import User
from shipyard.validation import parse_allow

_NAME = re.compile(GROUP_NAME)
#: never reachable from a session, allow-listed or not: "this network", loopback, link-local
#: (cloud metadata), multicast and reserved
_NEVER = tuple(
    ipaddress.IPv4Network(net)
    for net in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4")
)


@dataclass
class _Agents:
    alive: int = 0
    total: int = 0
    capacity: ResourceSlots = field(default_factory=ResourceSlots)


def _agent_figures(db: Session) -> dict[uuid.UUID, _Agents]:
    figures: dict[uuid.UUID, _Agents] = defaultdict(_Agents)
    rows = db.execute(
        select(Agent.resource_group_id, Agent.status, Agent.schedulable, Agent.capacity)
    )
    for row in rows:
        entry = figures[row.resource_group_id]
        entry.total += 1
        if row.status is AgentStatus.ALIVE:
            entry.alive += 1
            if row.schedulable:
                entry.capacity = entry.capacity + ResourceSlots.from_json(row.capacity)
    return figures


def _allowed(db: Session) -> dict[uuid.UUID, list[str]]:
    allowed: dict[uuid.UUID, list[str]] = defaultdict(list)
    rows = db.execute(
        select(ResourceGroupProject.resource_group_id, Project.name)
        .join(Project, Project.id == ResourceGroupProject.project_id)
        .order_by(Project.name)
    )
    for row in rows:
        allowed[row.resource_group_id].append(row.name)
    return allowed


def list_groups(db: Session) -> list[GroupAdmin]:
    """Every group (by name) with its agents, capacity, use and allowed projects."""
    groups = list(db.scalars(select(ResourceGroup).order_by(ResourceGroup.name)))
    figures = _agent_figures(db)
    used = ledger.held_by_all(db, Scope.GROUP)
    allowed = _allowed(db)
    return [
        _present(group, figures.get(group.id, _Agents()), used, allowed.get(group.id, []))
        for group in groups
    ]


def _present(
    group: ResourceGroup, agents: _Agents, used: dict[str, ledger.Held], projects: list[str]
) -> GroupAdmin:
    held = used.get(str(group.id), EMPTY)
    return GroupAdmin(
        id=group.id,
        name=group.name,
        description=group.description,
        is_active=group.is_active,
        placement=group.placement,
        network_mode=group.network_mode,
        network_allow=list(group.network_allow or []),
        agents_alive=agents.alive,
        agents_total=agents.total,
        slots=slot_figures(agents.capacity, held.slots),
        sessions=held.sessions,
        projects=projects,
        created_at=group.created_at,
    )


def get_group(db: Session, name: str) -> GroupAdmin:
    group = _group(db, name)
    return next(row for row in list_groups(db) if row.id == group.id)


def _group(db: Session, name: str) -> ResourceGroup:
    group = db.scalar(select(ResourceGroup).where(ResourceGroup.name == name))
    if group is None:
        raise NotFound(_("No such resource group: %(name)s.") % {"name": name})
    return group


def create_group(db: Session, *, actor: User, spec: GroupCreate) -> ResourceGroup:
    if not _NAME.match(spec.name):
        raise InvalidInput(
            _(
                "A name has 1 to 64 letters, digits, dots, dashes or underscores, and starts "
                "with a letter or digit."
            ),
            details={"field": "name"},
        )
    if db.scalar(select(ResourceGroup.id).where(ResourceGroup.name == spec.name)) is not None:
        raise Conflict(
            _("A resource group with this name already exists."), details={"field": "name"}
        )
    group = ResourceGroup(
        name=spec.name,
        description=spec.description,
        placement=spec.placement,
        is_active=spec.is_active,
        network_mode=spec.network_mode,
        network_allow=allow_list(spec.network_allow),
    )
    db.add(group)
    db.flush()
    audit.record(
        db,
        Action.GROUP_CREATE,
        actor=actor,
        target_type="resource_group",
        target_id=group.id,
        target_label=group.name,
        details={
            "placement": group.placement.value,
            "is_active": group.is_active,
            "network_mode": group.network_mode.value,
            "network_allow": group.network_allow,
        },
    )
    db.commit()
    return group


def update_group(db: Session, *, actor: User, name: str, change: GroupUpdate) -> ResourceGroup:
    """Description, placement, active and network; the default group stays active.

    A network change applies to sessions that start afterwards.
    """
    group = _group(db, name)
    if change.is_active is False and group.name == DEFAULT_GROUP:
        raise Conflict(
            _("The default resource group cannot be deactivated."),
            details={"field": "is_active"},
        )
    wanted = change.model_dump(exclude_none=True)
    if change.network_allow is not None:
        wanted["network_allow"] = allow_list(change.network_allow)
    changed = {key: value for key, value in wanted.items() if getattr(group, key) != value}
    for key, value in changed.items():
        setattr(group, key, value)
    if changed:
        audit.record(
            db,
            Action.GROUP_UPDATE,
            actor=actor,
            target_type="resource_group",
            target_id=group.id,
            target_label=group.name,
            details={key: _audited(value) for key, value in changed.items()},
        )
    db.commit()
    return group


def _audited(value: object) -> Any:
    """A changed value as the audit log keeps it: lists as lists, the rest as text."""
    return list(value) if isinstance(value, list) else str(value)


def allow_list(entries: list[str]) -> list[str]:
    """The entries in a canonical form, duplicates dropped, order kept.

    Raises InvalidInput (field "network_allow") naming every bad entry at once, or when more
    than MAX_ALLOW remain.
    """
    kept: dict[str, None] = {}
    bad: dict[str, None] = {}
    for entry in entries:
        canonical = _canonical(entry.strip())
        if canonical is None:
            bad[entry] = None
        else:
            kept[canonical] = None
    if bad:
        raise InvalidInput(
            _(
                "Not valid here: %(entries)s. Enter IPv4 networks (10.1.2.0/24) or "
                "NETWORK:PORT (10.1.2.3:443), never loopback, link-local or multicast."
            )
            % {"entries": ", ".join(repr(entry) for entry in bad)},
            details={"field": "network_allow", "entries": list(bad)},
        )
    if len(kept) > MAX_ALLOW:
        raise InvalidInput(
            _("At most %(n)d allowed site services.") % {"n": MAX_ALLOW},
            details={"field": "network_allow"},
        )
    return list(kept)


def _canonical(entry: str) -> str | None:
    """The entry as the agent reads it ("10.1.2.0/24", "10.1.2.3:443"); None when invalid."""
    try:
        network, port = parse_allow(entry)
    except ValueError:
        return None
    if entry.endswith(":") or any(network.overlaps(never) for never in _NEVER):
        return None
    text = str(network.network_address) if network.prefixlen == 32 else str(network)
    return text if port is None else f"{text}:{port}"


def _projects(db: Session, refs: list[str]) -> list[Project]:
    """Projects by name or id; InvalidInput names the first unknown one."""
    wanted = {ref.strip() for ref in refs if ref.strip()}
    bad = sorted(ref for ref in wanted if "\x00" in ref or len(ref) > 64)
    if bad:
        raise InvalidInput(_("No such project."), details={"field": "projects"})
    ids = {uuid.UUID(ref) for ref in wanted if _is_uuid(ref)}
    found = list(db.scalars(select(Project).where(Project.name.in_(wanted) | Project.id.in_(ids))))
    known = {p.name for p in found} | {str(p.id) for p in found}
    unknown = sorted(wanted - known)
    if unknown:
        raise InvalidInput(
            _("No such project: %(name)s.") % {"name": unknown[0]}, details={"field": "projects"}
        )
    return found


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def set_projects(db: Session, *, actor: User, name: str, projects: list[str]) -> list[str]:
    """Exactly these projects (names or ids) may use the group; returns their names."""
    group = _group(db, name)
    chosen = _projects(db, projects)
    before = set(
        db.scalars(
            select(Project.name)
            .join(ResourceGroupProject, ResourceGroupProject.project_id == Project.id)
            .where(ResourceGroupProject.resource_group_id == group.id)
        )
    )
    after = {project.name for project in chosen}
    if before != after:
        db.execute(
            delete(ResourceGroupProject).where(ResourceGroupProject.resource_group_id == group.id)
        )
        db.add_all(
            ResourceGroupProject(resource_group_id=group.id, project_id=project.id)
            for project in chosen
        )
        audit.record(
            db,
            Action.GROUP_PROJECTS_CHANGE,
            actor=actor,
            target_type="resource_group",
            target_id=group.id,
            target_label=group.name,
            details={"added": sorted(after - before), "removed": sorted(before - after)},
        )
    db.commit()
    return sorted(after)


def project_choices(db: Session) -> list[Project]:
    """Every project, by name, for the allowed-projects form."""
    return list(db.scalars(select(Project).order_by(Project.name)))
