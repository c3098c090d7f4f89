"""The Sessions pages: the list, the START launcher with its fit check, and a session's page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shipyard.agents import service as agents
from shipyard.agents.models import Agent, ResourceGroup
from shipyard.api.deps import DbDep
from shipyard.api.errors import status_of
from shipyard.environments import service as environments
from shipyard.environments.models import Environment
from shipyard.errors import Conflict, InvalidInput, NotFound, QuotaExceeded, ShipyardError
from shipyard.i18n import _, ngettext
from shipyard.projects.models import Project
from shipyard.sessions import service as sessions
from shipyard.sessions.models import FINISHED, ComputeSession, SessionStatus, SessionType
from shipyard.sessions.presenter import present
from shipyard.sessions.schemas import FitReport, SessionCreate, SessionPublic
from shipyard.slots import UNLIMITED, ResourceSlots, humanize, parse_amount
from shipyard.web.deps import CurrentViewer, Viewer
from shipyard.web.forms import LongText, ShortText
from shipyard.web.htmx import is_htmx, render

router = APIRouter(prefix="/sessions")

GIB = Decimal(2**30)
LOG_POLL = "every 2s"
# Beyond these no agent could ever help; stops absurd input before any arithmetic on it.
LARGEST_INPUT = {"cpu": Decimal(10**6), "mem": Decimal(2**32), "gpus": Decimal(4096)}
SLOT_FIELDS = {"cpu": "cpu", "mem": "mem", "cuda.device": "gpus"}
BADGES = {
    SessionStatus.PENDING: "bg-yellow-lt",
    SessionStatus.SCHEDULED: "bg-azure-lt",
    SessionStatus.PREPARING: "bg-azure-lt",
    SessionStatus.RUNNING: "bg-green-lt",
    SessionStatus.TERMINATING: "bg-orange-lt",
    SessionStatus.TERMINATED: "bg-secondary-lt",
    SessionStatus.ERROR: "bg-red-lt",
    SessionStatus.CANCELLED: "bg-secondary-lt",
}


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

    def spec(self) -> SessionCreate:
        """The service's request; InvalidInput whose details.field names the bad field."""
        if not self.environment:
            raise InvalidInput(_("Choose an environment."), details={"field": "environment"})
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
) -> LaunchForm:
    return LaunchForm(environment, type, command, cpu, mem, gpus, project, resource_group, name)


LaunchFormDep = Annotated[LaunchForm, Depends(launch_form)]


def field_of(exc: ShipyardError) -> str:
    """Which launcher field a refusal is about ("form" when it concerns the whole request)."""
    details = exc.details if isinstance(exc.details, dict) else {}
    if "field" in details:
        return str(details["field"])
    if "slot" in details:
        return SLOT_FIELDS.get(str(details["slot"]), "resources")
    return "form"


# The list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    session: SessionPublic
    resources: str
    age: str


def resources_text(amounts: Mapping[str, str]) -> str:
    """'1.5 CPU · 2 GiB · 1 GPU'."""
    slots = ResourceSlots.from_json(amounts)
    parts = [_("%(n)s CPU") % {"n": humanize("cpu", slots["cpu"])}]
    if slots["mem"]:
        parts.append(humanize("mem", slots["mem"]))
    if slots["cuda.device"]:
        parts.append(_amount_text("cuda.device", slots["cuda.device"]))
    return " · ".join(parts)


def age(since: datetime, now: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    for size, text in ((86400, _("%(n)d d")), (3600, _("%(n)d h")), (60, _("%(n)d min"))):
        if seconds >= size:
            return text % {"n": seconds // size}
    return _("%(n)d s") % {"n": seconds}


def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def looks() -> dict[str, Any]:
    """How statuses and types show, for the list and the session page alike."""
    return {
        "badges": BADGES,
        "types": {SessionType.BATCH: _("Batch"), SessionType.INTERACTIVE: _("Interactive")},
        "when": when,
    }


def _listing(db: Session, viewer: Viewer, include_finished: bool) -> dict[str, Any]:
    found, total = sessions.list_sessions(db, viewer=viewer.user, include_finished=include_finished)
    now = datetime.now(UTC)
    rows = [Row(s, resources_text(s.resources), age(s.created_at, now)) for s in present(db, found)]
    return {"rows": rows, "total": total, "include_finished": include_finished, **looks()}


def _launcher_page(
    request: Request,
    viewer: Viewer,
    db: Session,
    launcher: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """The launcher fragment for htmx; otherwise the list page with the launcher open."""
    context: dict[str, Any] = {"launcher": True, **launcher}
    if not is_htmx(request):
        context.update(_listing(db, viewer, include_finished=False))
    return render(
        request,
        "sessions.html",
        context,
        viewer=viewer,
        fragment="_launcher.html",
        status_code=status_code,
    )


@router.get("")
def list_page(request: Request, viewer: CurrentViewer, db: DbDep, all: bool = False) -> Response:
    """The viewer's sessions; htmx polls get only the table body."""
    return render(
        request,
        "sessions.html",
        _listing(db, viewer, include_finished=all),
        viewer=viewer,
        fragment="_sessions_table.html",
    )


# The launcher --------------------------------------------------------------------------


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
    try:
        return Fit(report=sessions.check_fit(db, user=viewer.user, spec=form.spec()))
    except ShipyardError as exc:
        return Fit(error=exc.message)


def largest_agent(db: Session, group: ResourceGroup | None) -> ResourceSlots:
    """Per slot, the most any agent of the group has: the slider's end when no limit applies."""
    if group is None:
        return ResourceSlots()
    capacities = [
        agent.capacity_slots
        for agent in db.scalars(select(Agent).where(Agent.resource_group_id == group.id))
    ]
    slots = {slot for capacity in capacities for slot in capacity}
    return ResourceSlots({slot: max(c[slot] for c in capacities) for slot in slots})


def _amount_text(slot: str, value: Decimal) -> str:
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
    hint = _slider_hint(_amount_text(slot, end), limited=left != UNLIMITED, some=bool(end))
    return Slider(name, labels[name], value, _plain(maximum), step, hint)


def _slider_hint(amount: str, *, limited: bool, some: bool) -> str:
    if limited:
        return _("Up to %(amount)s: what your limits still allow.") % {"amount": amount}
    if some:
        return _("Up to %(amount)s: no limit applies; the largest agent has that.") % {
            "amount": amount
        }
    return _("None available in this resource group.")


def _choose_project(viewer: Viewer, wanted: str) -> Project | None:
    for project in viewer.projects:
        if wanted in (str(project.id), project.name):
            return project
    return viewer.current_project


def _choose_group(groups: list[ResourceGroup], wanted: str) -> ResourceGroup | None:
    for group in groups:
        if group.name == wanted:
            return group
    return groups[0] if groups else None


@dataclass(frozen=True)
class Chosen:
    """The form with a project the viewer is in and a group that project may use."""

    form: LaunchForm
    groups: list[ResourceGroup]
    group: ResourceGroup | None


def place(db: Session, viewer: Viewer, form: LaunchForm) -> Chosen:
    project = _choose_project(viewer, form.project)
    groups = agents.groups_of_project(db, project.id) if project else []
    group = _choose_group(groups, form.resource_group)
    chosen = replace(
        form,
        project=str(project.id) if project else "",
        resource_group=group.name if group else "",
    )
    return Chosen(chosen, groups, group)


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
    try:
        return sessions.check_fit(db, user=viewer.user, spec=spec)
    except ShipyardError:
        return None


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
    }


def _default_environment(envs: list[Environment]) -> str:
    names = [env.name for env in envs]
    if environments.DEFAULT_ENVIRONMENT in names:
        return environments.DEFAULT_ENVIRONMENT
    return names[0] if names else ""


@router.get("/launcher")
def launcher(request: Request, viewer: CurrentViewer, db: DbDep) -> Response:
    """The START launcher with its defaults; a full page (list + launcher) without htmx."""
    return _launcher_page(request, viewer, db, launcher_context(db, viewer, fresh=True))


@router.post("/launcher")
def launcher_for(
    request: Request, viewer: CurrentViewer, db: DbDep, form: LaunchFormDep
) -> Response:
    """The launcher again for the values so far: another project, group or environment."""
    return _launcher_page(request, viewer, db, launcher_context(db, viewer, form))


@router.post("/check")
def check_page(request: Request, viewer: CurrentViewer, db: DbDep, form: LaunchFormDep) -> Response:
    """Does the request fit now, and if not which limits block it (before submitting)."""
    return render(request, "_fit.html", {"fit": fit_of(db, viewer, form)}, viewer=viewer)


@router.post("")
def create(request: Request, viewer: CurrentViewer, db: DbDep, form: LaunchFormDep) -> Response:
    """Queue the session and go to its page; a refusal shows the launcher again, filled in."""
    try:
        session = sessions.create_session(db, owner=viewer.user, spec=form.spec())
    except (InvalidInput, NotFound, QuotaExceeded) as exc:
        context = launcher_context(db, viewer, form, errors={field_of(exc): exc.message})
        # htmx swaps only 2xx answers; a form submitted without htmx gets the real status.
        code = 200 if is_htmx(request) else status_of(exc)
        return _launcher_page(request, viewer, db, context, status_code=code)
    request.app.state.scheduler.wake()
    target = f"/sessions/{session.id}"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


# A session's page ----------------------------------------------------------------------


@dataclass(frozen=True)
class LogUpdate:
    """What one logs poll brings: new output, where to go on from, and whether to go on."""

    data: str = ""
    offset: int = 0
    trigger: str | None = LOG_POLL  # the next poll's hx-trigger; None stops polling
    note: str = ""
    seen: int = 0  # history entries the page already shows


def read_logs(db: Session, session: ComputeSession, offset: int) -> LogUpdate:
    """Output from `offset` on, read from the session's agent as the API's logs route does."""
    data, next_offset, note = "", offset, ""
    try:
        data, next_offset = sessions.read_output(db, session=session, offset=offset)
    except Conflict as exc:
        note = exc.message
    active = session.status not in FINISHED
    if active:
        trigger: str | None = LOG_POLL
    else:
        trigger = "load" if data else None  # a finished session's output is read to its end
    if not note and next_offset == 0:
        note = _("No output yet.") if active else _("This session wrote no output.")
    return LogUpdate(data=data, offset=next_offset, trigger=trigger, note=note)


def _session_context(db: Session, session: ComputeSession) -> dict[str, Any]:
    shown = present(db, [session])[0]
    return {
        "s": shown,
        "active": shown.status not in FINISHED,
        "resources": resources_text(shown.resources),
        "log_poll": LOG_POLL,
        **looks(),
    }


@router.get("/{ref}")
def session_page(request: Request, viewer: CurrentViewer, db: DbDep, ref: str) -> Response:
    session = sessions.by_name_or_id(db, viewer=viewer.user, ref=ref)
    context = _session_context(db, session)
    return render(request, "session.html", context, viewer=viewer)


@router.get("/{ref}/logs")
def logs(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    ref: str,
    offset: Annotated[int, Query(ge=0)] = 0,
    seen: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """New output to append, the next poll (out of band) and, if it changed, the status."""
    session = sessions.by_name_or_id(db, viewer=viewer.user, ref=ref)
    update = replace(read_logs(db, session, offset), seen=seen)
    context = {"part": "logs", "update": update, **_session_context(db, session)}
    response = render(request, "session.html", context, viewer=viewer)
    if update.data:  # follow new output, but leave a reader alone while nothing comes
        response.headers["HX-Reswap"] = "beforeend scroll:#log-output:bottom"
    return response


@router.post("/{ref}/terminate")
def terminate(request: Request, viewer: CurrentViewer, db: DbDep, ref: str) -> Response:
    found = sessions.by_name_or_id(db, viewer=viewer.user, ref=ref)
    session = sessions.terminate(db, viewer=viewer.user, session_id=found.id)
    request.app.state.notifier.notify([session.agent_id] if session.agent_id else [])
    request.app.state.scheduler.wake()
    return RedirectResponse(f"/sessions/{session.id}", status_code=303)
