"""Where a new session may go: which of the user's projects, and which resource group of it.

One rule for two callers: the service refuses a request that names a project or group the
user may not use (`resolve_placement`); the launcher, while the user is still choosing, shows
the nearest choice the same rule allows (`choose`) and leaves the refusal to the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from shipyard.agents import service as agents
from shipyard.agents.models import ResourceGroup
from shipyard.errors import InvalidInput, NotFound, ShipyardError
from shipyard.i18n import _
from shipyard.projects import service as projects
from shipyard.projects.models import Project
from shipyard.resources.slots import ResourceSlots
from shipyard.users.models import User

DEFAULT_REQUEST = {"cpu": "1", "mem": "1g"}


@dataclass(frozen=True)
class Choice:
    """The project and group a request names, else the defaults, and why it cannot go there.

    `project` is the named project, else the user's current one (None: they have none);
    `groups` are the resource groups that project may use; `group` the named one among them,
    else the first. `refusal` is None when the request may go exactly where it asked.
    """

    project: Project | None
    groups: list[ResourceGroup]
    group: ResourceGroup | None
    refusal: ShipyardError | None = None

    def required(self) -> tuple[Project, ResourceGroup]:
        """The project and group, or the refusal raised."""
        if self.refusal is not None:
            raise self.refusal
        assert self.project is not None  # no refusal: both were chosen
        assert self.group is not None
        return self.project, self.group


def choose(
    db: Session, *, user: User, mine: Sequence[Project], project: str | None, group: str | None
) -> Choice:
    """Where a request naming `project` and `group` (None: the default) goes among `mine`.

    `mine` are the user's active projects (projects.projects_of); a project is named by its
    name or id, a group by its name.
    """
    named = next((p for p in mine if project in (p.name, str(p.id))), None)
    chosen = named or projects.current_project(list(mine), user)
    groups = agents.groups_of_project(db, chosen.id) if chosen is not None else []
    named_group = next((g for g in groups if g.name == group), None)
    refusal = _refusal(project=project, named=named, chosen=chosen, groups=groups)
    if refusal is None and group is not None and named_group is None:
        refusal = NotFound(
            _("No such resource group for this project: %(name)s.") % {"name": group},
            details={"field": "resource_group"},
        )
    default = groups[0] if groups else None
    return Choice(chosen, groups, named_group or default, refusal)


def _refusal(
    *,
    project: str | None,
    named: Project | None,
    chosen: Project | None,
    groups: list[ResourceGroup],
) -> ShipyardError | None:
    if project is not None and named is None:
        message = _("No such project: %(name)s.") % {"name": project}
        return NotFound(message, details={"field": "project"})
    if chosen is None:
        return InvalidInput(_("You are not a member of any active project."))
    if not groups:
        return InvalidInput(_("Your project may not use any resource group."))
    return None


@dataclass(frozen=True)
class Placement:
    """Where a new session would go: project, resource group and the checked request."""

    project: Project
    group: ResourceGroup
    request: ResourceSlots


def resolve_placement(
    db: Session, *, user: User, project: str | None, group: str | None, resources: dict[str, str]
) -> Placement:
    """The placement of a request, or NotFound / InvalidInput naming the field at fault."""
    mine = projects.projects_of(db, user)
    chosen, resource_group = choose(
        db, user=user, mine=mine, project=project, group=group
    ).required()
    request = ResourceSlots.from_json({**DEFAULT_REQUEST, **resources})
    if request["cpu"] <= 0 or request["mem"] <= 0:
        raise InvalidInput(
            _("A session needs some CPU and memory."), details={"field": "resources"}
        )
    return Placement(project=chosen, group=resource_group, request=request)
