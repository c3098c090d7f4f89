"""The START launcher: its form as typed, the sliders bounded by what the user may still use,
and the fit check shown before submitting."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import Depends, Form
from pydantic import Field, ValidationError
from sqlalchemy.orm import Session

from shipyard.agents import service as agents
from shipyard.agents.models import ResourceGroup
from shipyard.environments import service as environments
from shipyard.environments.models import Environment
from shipyard.errors import InvalidInput, ShipyardError
from shipyard.i18n import _, ngettext
from shipyard.projects.models import Project
from shipyard.resources.schemas import FitReport
from shipyard.resources.slots import UNLIMITED, ResourceSlots, humanize, parse_amount
from shipyard.sessions import placement
from shipyard.sessions import service as sessions
from shipyard.sessions.models import SessionType
from shipyard.sessions.schemas import SessionCreate
from shipyard.storage.access import Via
from shipyard.storage.mounts import check_count, mountable, read_only
from shipyard.validation import NO_NUL
from shipyard.web import kit
from shipyard.web.deps import Viewer
from shipyard.web.forms import LongText, ShortText

GIB = Decimal(2**30)
# Beyond these no agent could ever help; stops absurd input before any arithmetic on it.
LARGEST_INPUT = {"cpu": Decimal(10**6), "mem": Decimal(2**32), "gpus": Decimal(4096)}
SLOT_FIELDS = {"cpu": "cpu", "mem": "mem", "cuda.device": "gpus"}
FolderRefs = Annotated[list[Annotated[str, Field(max_length=64, pattern=NO_NUL)]] | None, Form()]


@dataclass(frozen=True)
class LaunchForm:
    """What the user typed into the launcher, kept as text so a refusal can show it again."""

    environment: str = ""
    type: str = SessionType.BATCH.value
    command: str = ""
    cpu: str = "1"
    mem: str = "1"  # GiB
    gpus: str = "0"
    project: str = ""
    resource_group: str = ""
    name: str = ""
    mounts: tuple[str, ...] = ()  # folder ids

    def spec(self) -> SessionCreate:
        """The service's request; InvalidInput whose details.field names the bad field."""
        if not self.environment:
            raise InvalidInput(_("Choose an environment."), details={"field": "environment"})
        check_count(self.mounts)  # before SessionCreate, whose own refusal would be vaguer
        resources = {
            "cpu": _plain(_amount(self.cpu, "cpu")),
            "mem": str(int(_amount(self.mem, "mem") * GIB)),
        }
        gpus = _amount(self.gpus, "gpus")
        if gpus:
            resources["cuda.device"] = _plain(gpus)
        try:
            return SessionCreate(
                environment=self.environment,
                type=_session_type(self.type),
                command=self.command,
                resources=resources,
                project=self.project or None,
                resource_group=self.resource_group or None,
                name=self.name.strip() or None,
                mounts=list(self.mounts),
            )
        except ValidationError as exc:
            raise InvalidInput(
                _("A name starts with a letter or digit and holds only letters, digits, . _ -"),
                details={"field": "name"},
            ) from exc


def _amount(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise InvalidInput(_("Enter a number, for example 1 or 0.5."), details={"field": name})
    if value < 0:
        raise InvalidInput(_("Enter zero or more."), details={"field": name})
    if value > LARGEST_INPUT[name]:
        raise InvalidInput(_("That is more than any agent could have."), details={"field": name})
    if name == "gpus" and value != value.to_integral_value():
        raise InvalidInput(_("Enter a whole number of GPUs."), details={"field": name})
    return value


def _session_type(text: str) -> SessionType:
    try:
        return SessionType(text)
    except ValueError as exc:
        raise InvalidInput(_("Choose batch or interactive."), details={"field": "type"}) from exc


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def launch_form(
    environment: ShortText = "",
    type: ShortText = SessionType.BATCH.value,
    command: LongText = "",
    cpu: ShortText = "1",
    mem: ShortText = "1",
    gpus: ShortText = "0",
    project: ShortText = "",
    resource_group: ShortText = "",
    name: ShortText = "",
    mounts: FolderRefs = None,
) -> LaunchForm:
    return LaunchForm(
        environment,
        type,
        command,
        cpu,
        mem,
        gpus,
        project,
        resource_group,
        name,
        tuple(mounts or ()),
    )


LaunchFormDep = Annotated[LaunchForm, Depends(launch_form)]


def launcher_errors(exc: ShipyardError) -> dict[str, str]:
    """A refusal by the launcher field it is about: a resource slot's by its box, else
    "resources"; "form" when it concerns the whole request."""
    return kit.errors_of(exc, slot_field=lambda slot: SLOT_FIELDS.get(slot, "resources"))


@dataclass(frozen=True)
class Slider:
    """A resource's slider and number box: the slider ends at what the user may still use."""

    field: str
    label: str
    value: str
    maximum: str
    step: str
    hint: str


@dataclass(frozen=True)
class Fit:
    report: FitReport | None = None
    error: str | None = None


def fit_of(db: Session, viewer: Viewer, form: LaunchForm) -> Fit:
    """The fit check of what the form asks for, or why it cannot be checked."""
    return kit.attempt(
        lambda: sessions.check_fit(db, user=viewer.user, spec=form.spec()),
        on_done=lambda report: Fit(report=report),
        on_refused=lambda exc: Fit(error=exc.message),
    )


def largest_agent(db: Session, group: ResourceGroup | None) -> ResourceSlots:
    """Per slot, the most any agent of the group has: the slider's end when no limit applies."""
    return agents.largest_capacity(db, group.id) if group is not None else ResourceSlots()


def amount_text(slot: str, value: Decimal) -> str:
    shown = humanize(slot, value)
    if slot == "cpu":
        return ngettext("%(n)s core", "%(n)s cores", 1 if value == 1 else 2) % {"n": shown}
    if slot == "cuda.device":
        return ngettext("%(n)s GPU", "%(n)s GPUs", 1 if value == 1 else 2) % {"n": shown}
    return shown


def slider(
    name: str, slot: str, value: str, *, report: FitReport | None, largest: ResourceSlots
) -> Slider:
    remaining = report.remaining if report else {}
    left = min(
        (parse_amount(slot, amounts[slot]) for amounts in remaining.values() if slot in amounts),
        default=UNLIMITED,
    )
    end = left if left != UNLIMITED else largest[slot]
    scale = GIB if slot == "mem" else Decimal(1)
    maximum = (end / scale).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    labels = {"cpu": _("CPU cores"), "mem": _("Memory (GiB)"), "gpus": _("GPUs")}
    step = "1" if name == "gpus" else "0.5"
    hint = _slider_hint(amount_text(slot, end), limited=left != UNLIMITED, some=bool(end))
    return Slider(name, labels[name], value, _plain(maximum), step, hint)


def _slider_hint(amount: str, *, limited: bool, some: bool) -> str:
    if limited:
        return _("Up to %(amount)s: what your limits still allow.") % {"amount": amount}
    if some:
        return _("Up to %(amount)s: no limit applies; the largest agent has that.") % {
            "amount": amount
        }
    return _("None available in this resource group.")


@dataclass(frozen=True)
class Chosen:
    """The form with a project the viewer is in and a group that project may use."""

    form: LaunchForm
    project: Project | None
    groups: list[ResourceGroup]
    group: ResourceGroup | None


def place(db: Session, viewer: Viewer, form: LaunchForm) -> Chosen:
    """The nearest place the service's rule allows (sessions/placement.py): while the user is
    still choosing, a project or group they may not use gives way to the default; the submit
    refuses it (and the launcher then shows the refusal by its field)."""
    choice = placement.choose(
        db,
        user=viewer.user,
        mine=viewer.projects,
        project=form.project or None,
        group=form.resource_group or None,
    )
    chosen = replace(
        form,
        project=str(choice.project.id) if choice.project else "",
        resource_group=choice.group.name if choice.group else "",
    )
    return Chosen(chosen, choice.project, choice.groups, choice.group)


@dataclass(frozen=True)
class FolderChoice:
    """A folder the launcher offers to mount, with how the session would see it."""

    id: str
    name: str
    read_only: bool
    owner: str  # whose it is, when it is not the viewer's own
    checked: bool


def folder_choices(db: Session, viewer: Viewer, where: Chosen) -> list[FolderChoice]:
    """The folders the viewer may mount into a session of the chosen project."""
    if where.project is None:
        return []
    return [
        FolderChoice(
            id=str(access.folder.id),
            name=access.name,
            read_only=read_only(access),
            owner=_owner_text(access.via, access.owner_label),
            checked=str(access.folder.id) in where.form.mounts,
        )
        for access in mountable(db, user=viewer.user, project=where.project)
    ]


def _owner_text(via: Via, label: str) -> str:
    if via is Via.SHARED:
        return _("shared by %(owner)s") % {"owner": label}
    if via is Via.PROJECT:
        return _("project %(name)s") % {"name": label}
    return ""


def sliders(db: Session, viewer: Viewer, where: Chosen, fit: Fit) -> list[Slider]:
    report = fit.report
    if report is None:  # the request itself is wrong; the limits still bound the sliders
        spec = SessionCreate(
            project=where.form.project or None, resource_group=where.form.resource_group or None
        )
        report = check_fit_or_none(db, viewer, spec)
    largest = largest_agent(db, where.group)
    values = {"cpu": where.form.cpu, "mem": where.form.mem, "gpus": where.form.gpus}
    return [
        slider(name, slot, values[name], report=report, largest=largest)
        for slot, name in SLOT_FIELDS.items()
    ]


def check_fit_or_none(db: Session, viewer: Viewer, spec: SessionCreate) -> FitReport | None:
    return kit.attempt(
        lambda: sessions.check_fit(db, user=viewer.user, spec=spec),
        on_done=lambda report: report,
        on_refused=lambda _exc: None,
    )


def launcher_context(
    db: Session,
    viewer: Viewer,
    form: LaunchForm | None = None,
    *,
    errors: Mapping[str, str] | None = None,
    fresh: bool = False,
) -> dict[str, Any]:
    """Everything _launcher.html shows, for what the user typed so far (or the defaults)."""
    envs = environments.list_enabled(db)
    where = place(db, viewer, form or LaunchForm(environment=_default_environment(envs)))
    env = next((e for e in envs if e.name == where.form.environment), None)
    terminal = env is None or environments.TERMINAL in env.apps
    if not terminal:
        where = replace(where, form=replace(where.form, type=SessionType.BATCH.value))
    fit = fit_of(db, viewer, where.form)
    return {
        "form": where.form,
        "errors": dict(errors or {}),
        "fresh": fresh,
        "environments": envs,
        "terminal": terminal,
        "groups": where.groups,
        "sliders": sliders(db, viewer, where, fit),
        "fit": fit,
        "folders": folder_choices(db, viewer, where),
    }


def _default_environment(envs: list[Environment]) -> str:
    names = [env.name for env in envs]
    if environments.DEFAULT_ENVIRONMENT in names:
        return environments.DEFAULT_ENVIRONMENT
    return names[0] if names else ""
