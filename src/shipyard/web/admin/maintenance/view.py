"""How maintenance tasks show on the console: labels, drift rows, result lines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shipyard.i18n import _
from shipyard.maintenance.models import TaskKind
from shipyard.maintenance.schemas import TaskPublic, TaskState
from shipyard.maintenance.service import kind_label
from shipyard.resources.models import SESSIONS_SLOT, Scope
from shipyard.resources.slots import SLOT_KINDS, humanize


def explanations() -> dict[TaskKind, str]:
    return {
        TaskKind.RECALCULATE_USAGE: _(
            "Rebuilds the resource ledger (what users, projects, resource groups and agents "
            "hold) from the sessions that occupy resources, and reports every figure it "
            "corrected. Sessions may start and stop meanwhile."
        ),
        TaskKind.RESCAN_ENVIRONMENTS: _(
            "Looks for virtual environments in the configured directories: new ones are "
            "added, vanished ones disabled."
        ),
    }


def state_label(state: TaskState) -> str:
    return {
        TaskState.QUEUED: _("Queued"),
        TaskState.RUNNING: _("Running"),
        TaskState.SUCCEEDED: _("Succeeded"),
        TaskState.FAILED: _("Failed"),
        TaskState.INTERRUPTED: _("Interrupted"),
    }[state]


STATE_BADGES = {
    TaskState.QUEUED: "bg-secondary-lt",
    TaskState.RUNNING: "bg-blue-lt",
    TaskState.SUCCEEDED: "bg-green-lt",
    TaskState.FAILED: "bg-red-lt",
    TaskState.INTERRUPTED: "bg-orange-lt",
}


def scope_label(scope: str) -> str:
    labels = {
        Scope.USER: _("User"),
        Scope.PROJECT: _("Project"),
        Scope.GROUP: _("Resource group"),
        Scope.AGENT: _("Agent"),
    }
    return next((label for key, label in labels.items() if key.value == scope), scope)


def slot_label(slot: str) -> str:
    if slot == SESSIONS_SLOT:
        return _("Sessions")
    kind = SLOT_KINDS.get(slot)
    return _(kind.label) if kind else slot


def amount(slot: str, text: str) -> str:
    try:
        return humanize(slot, Decimal(text))
    except InvalidOperation:
        return text


def drift_rows(task: TaskPublic) -> list[dict[str, str]]:
    """The drifts a recalculation corrected, ready to show."""
    rows: list[dict[str, Any]] = task.result.get("drifts", [])
    return [
        {
            "scope": scope_label(str(row.get("scope", ""))),
            "name": str(row.get("name", "")),
            "slot": slot_label(str(row.get("slot", ""))),
            "recorded": amount(str(row.get("slot", "")), str(row.get("recorded", ""))),
            "actual": amount(str(row.get("slot", "")), str(row.get("actual", ""))),
        }
        for row in rows
    ]


def rescan_lines(task: TaskPublic) -> list[tuple[str, list[str]]]:
    result = task.result
    return [
        (_("Added"), list(result.get("added", []))),
        (_("Kept"), list(result.get("kept", []))),
        (_("Disabled"), list(result.get("disabled", []))),
    ]


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def looks() -> dict[str, Any]:
    """What the maintenance templates call."""
    return {
        "kind_label": kind_label,
        "explanations": explanations(),
        "state_label": state_label,
        "state_badges": STATE_BADGES,
        "drift_rows": drift_rows,
        "rescan_lines": rescan_lines,
        "when": when,
        "kinds": TaskKind,
    }
