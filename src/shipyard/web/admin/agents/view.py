"""How agents, resource groups, agent tokens and environments show on the admin pages.

Their dialogs are the kit's (web/kit.py): a modal's content for htmx, else a page of their own
(admin/agents_dialog.html); a refusal shows the dialog again with the error by its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from shipyard.agents.admin_schemas import AgentAdmin, SlotFigure
from shipyard.agents.models import AgentStatus
from shipyard.db import utcnow
from shipyard.i18n import _
from shipyard.resources.slots import SLOT_KINDS, humanize
from shipyard.web import kit

ADMIN_CHANGED = "shipyard:admin-changed"
STATUS_BADGES = {  # readable in both themes: body-coloured text, the colour only in a dot
    AgentStatus.ALIVE: "perm-badge perm-owner",
    AgentStatus.LOST: "perm-badge perm-wd",
    AgentStatus.TERMINATED: "perm-badge",
}


def status_labels() -> dict[str, str]:
    return {
        AgentStatus.ALIVE.value: _("Alive"),
        AgentStatus.LOST.value: _("Lost"),
        AgentStatus.TERMINATED.value: _("Terminated"),
    }


def placement_labels() -> dict[str, str]:
    return {
        "binpack": _("Bin-pack (fill one agent before the next)"),
        "spread": _("Spread (the least busy agent first)"),
    }


def slot_label(slot: str) -> str:
    labels = {"cpu": _("CPU"), "mem": _("Memory"), "cuda.device": _("GPU")}
    kind = SLOT_KINDS.get(slot)
    return labels.get(slot, kind.label if kind else slot)


def percent(figure: SlotFigure) -> int | None:
    """How full a slot is, for a bar; None when there is no capacity to speak of."""
    capacity, used = float(figure.capacity), float(figure.used)
    if capacity <= 0 or capacity == float("inf"):
        return None
    return min(100, round(100 * used / capacity))


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """'12 s ago', '5 min ago', '3 h ago', '2 d ago'."""
    if moment is None:
        return "—"
    seconds = max(0, int(((now or utcnow()) - moment).total_seconds()))
    if seconds < 60:
        return _("%(n)d s ago") % {"n": seconds}
    if seconds < 3600:
        return _("%(n)d min ago") % {"n": seconds // 60}
    if seconds < 86400:
        return _("%(n)d h ago") % {"n": seconds // 3600}
    return _("%(n)d d ago") % {"n": seconds // 86400}


def exact(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def utilisation(agent: AgentAdmin) -> list[str]:
    """What the agent last reported: CPU busy, memory in use, each GPU's load."""
    use = agent.utilization
    lines = []
    if isinstance(use.get("cpu_percent"), int | float):
        lines.append(_("CPU %(p)s %%") % {"p": round(use["cpu_percent"])})
    if isinstance(use.get("mem_used"), int) and isinstance(use.get("mem_total"), int):
        used = humanize("mem", Decimal(use["mem_used"]))
        total = humanize("mem", Decimal(use["mem_total"]))
        lines.append(_("Memory %(used)s / %(total)s") % {"used": used, "total": total})
    gpus = use.get("gpus")
    for gpu in gpus if isinstance(gpus, list) else []:
        if isinstance(gpu, dict) and isinstance(gpu.get("util"), int | float):
            label = _("GPU %(i)s %(p)s %%") % {"i": gpu.get("index", "?"), "p": gpu["util"]}
            lines.append(label + (" " + _("(mock)") if gpu.get("mock") else ""))
    return lines


def enforcement(agent: AgentAdmin) -> tuple[str, str, bool]:
    """(sandbox, cgroups, fully enforced) as the agent reported them."""
    sandbox = str(agent.enforcement.get("sandbox", "?"))
    cgroups = str(agent.enforcement.get("cgroups", "?"))
    return sandbox, cgroups, sandbox != "none" and cgroups != "none"


@dataclass(frozen=True)
class Pager:
    offset: int
    limit: int
    count: int
    previous: str | None
    next: str | None

    @property
    def shown(self) -> str:
        if not self.count:
            return ""
        last = min(self.offset + self.limit, self.count)
        return _("%(first)d to %(last)d of %(count)d") % {
            "first": self.offset + 1,
            "last": last,
            "count": self.count,
        }


def pager(path: str, filters: dict[str, str], *, offset: int, limit: int, count: int) -> Pager:
    def url(at: int) -> str:
        query = {key: value for key, value in filters.items() if value}
        if at:
            query["offset"] = str(at)
        return path + ("?" + urlencode(query) if query else "")

    return Pager(
        offset=offset,
        limit=limit,
        count=count,
        previous=url(max(0, offset - limit)) if offset > 0 else None,
        next=url(offset + limit) if offset + limit < count else None,
    )


def looks() -> dict[str, Any]:
    """What every agents, groups and environments template uses."""
    return {
        "status_labels": status_labels(),
        "status_badges": {status.value: css for status, css in STATUS_BADGES.items()},
        "placement_labels": placement_labels(),
        "slot_label": slot_label,
        "percent": percent,
        "ago": ago,
        "exact": exact,
        "utilisation": utilisation,
        "enforcement": enforcement,
    }


DIALOGS = kit.Dialogs(page="admin/agents_dialog.html", looks=looks)


def done(request: Request, *, message: str, back: str) -> Response:
    """After an action: htmx closes the dialog and refreshes the lists; a plain form goes back."""
    return kit.done(request, event=ADMIN_CHANGED, message=message, back=back)
