"""The START launcher: its form as typed, the sliders bounded by what one more session could
get now (resources/quota.py: room, the Summary's Remaining), and the fit check shown before
submitting, by the field it is about, with the limit and the amounts."""

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
from shipyard.environments.models import Environment, EnvironmentStatus
from shipyard.errors import InvalidInput, ShipyardError
from shipyard.i18n import _
from shipyard.projects.models import Project
from shipyard.resources.schemas import Block, FitReport
from shipyard.resources.slots import ResourceSlots, parse_amount, show_amount
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
    "resources"; "form" when it concerns the whole request. A quota refusal names every
    limit that blocks (details.blocked_by): each slot's message goes to its box."""
    details = exc.details if isinstance(exc.details, dict) else {}
    by_field = _notes_of_blocks(details.get("blocked_by"))
    if by_field:
        return by_field
    return kit.errors_of(exc, slot_field=lambda slot: SLOT_FIELDS.get(slot, "resources"))


def _notes_of_blocks(blocks: object) -> dict[str, str]:
    """Each resource box's messages from blocks (Block or its dict); the rest under "form"."""
    notes: dict[str, list[str]] = {}
    for raw in blocks if isinstance(blocks, list) else []:
        block = raw if isinstance(raw, Block) else Block.model_validate(raw)
        for slot, message in block.by_slot.items():
            notes.setdefault(SLOT_FIELDS.get(slot, "resources"), []).append(message)
        if not block.by_slot:
            notes.setdefault("form", []).append(block.message)
    return {field: " ".join(messages) for field, messages in notes.items()}


def fit_notes(fit: Fit) -> dict[str, str]:
    """What keeps the request from fitting now, by the resource box it is about."""
    if fit.report is None:
        return {}
    notes = _notes_of_blocks(fit.report.blocked_by)
    return {field: text for field, text in notes.items() if field in SLOT_FIELDS.values()}


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


def in_field_unit(slot: str, value: Decimal) -> str:
    """An amount in the unit its box takes: memory in GiB (the box's unit), else as shown
    everywhere ("1 core", "2 GPUs")."""
    if slot != "mem":
        return show_amount(slot, value)
    gib = (value / GIB).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return _("%(n)s GiB") % {"n": _plain(gib)}


def slider(
    name: str, slot: str, value: str, *, report: FitReport | None, largest: ResourceSlots
) -> Slider:
    """The slider ends at what one more session could get now (the Summary's Remaining);
    without a report (no project or group to check against), at the largest agent."""
    if report is not None and slot in report.now:
        end, bound = parse_amount(slot, report.now[slot]), report.bound.get(slot, "group")
    else:
        end, bound = largest[slot], "largest"
    scale = GIB if slot == "mem" else Decimal(1)
    maximum = (end / scale).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    labels = {"cpu": _("CPU cores"), "mem": _("Memory (GiB)"), "gpus": _("GPUs")}
    step = "1" if name == "gpus" else "0.5"
    hint = _slider_hint(in_field_unit(slot, end), bound=bound, some=bool(maximum))
    return Slider(name, labels[name], value, _plain(maximum), step, hint)


def _slider_hint(amount: str, *, bound: str, some: bool) -> str:
    """Where the slider ends and which limit puts it there."""
    if bound == "sessions":
        return _("None now: you run as many sessions as your policy allows.")
    if bound == "pending":
        return _("None now: you have as many pending sessions as your policy allows.")
    if not some:
        if bound in ("group", "largest"):
            return _("None free on any agent of this resource group now.")
        return _("None left: your limits allow no more now.")
    hints = {
        "user": _("Up to %(amount)s: what your limit still allows."),
        "project": _("Up to %(amount)s: what the project's limit still allows."),
        "group": _("Up to %(amount)s: the most free on one agent of this resource group now."),
        "largest": _("Up to %(amount)s: the largest agent of this resource group has that."),
    }
    return hints.get(bound, hints["group"]) % {"amount": amount}


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
    # An image still importing, or one that failed, is refused at START: offer only the
    # ones sessions can use.
    envs = [e for e in environments.list_enabled(db) if e.status is EnvironmentStatus.READY]
    form = form or LaunchForm()
    if fresh and not form.environment:
        form = replace(form, environment=_default_environment(envs))
    where = place(db, viewer, form)
    env = next((e for e in envs if e.name == where.form.environment), None)
    terminal = env is None or environments.TERMINAL in env.apps
    if not terminal:
        where = replace(where, form=replace(where.form, type=SessionType.BATCH.value))
    fit = fit_of(db, viewer, where.form)
    shown_errors = dict(errors or {})
    return {
        "form": where.form,
        "errors": shown_errors,
        "fresh": fresh,
        "environments": envs,
        "terminal": terminal,
        "groups": where.groups,
        "sliders": sliders(db, viewer, where, fit),
        "fit": fit,
        "notes": {k: v for k, v in fit_notes(fit).items() if k not in shown_errors},
        "folders": folder_choices(db, viewer, where),
    }


def fit_context(db: Session, viewer: Viewer, form: LaunchForm) -> dict[str, Any]:
    """What the live fit check renders: the report, and each resource box's note (swapped
    in beside the box out of band, so a value beyond its slider is never passed over)."""
    fit = fit_of(db, viewer, form)
    return {"fit": fit, "notes": fit_notes(fit), "note_fields": list(SLOT_FIELDS.values())}


def _default_environment(envs: list[Environment]) -> str:
    names = [env.name for env in envs]
    if environments.DEFAULT_ENVIRONMENT in names:
        return environments.DEFAULT_ENVIRONMENT
    return names[0] if names else ""
