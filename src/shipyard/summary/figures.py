"""The value types of the Summary page's figures: a gauge (used of a total) and the panels."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from shipyard.i18n import _
from shipyard.resources.slots import UNLIMITED, ZERO, amount_text, humanize, show_amount, with_unit

WARN_AT = Decimal("0.8")  # a gauge at or above this share of its total shows a warning


@dataclass(frozen=True)
class Gauge:
    """`used` of `total` for one slot; `total` is UNLIMITED when no limit applies."""

    slot: str
    used: Decimal
    total: Decimal

    @property
    def unlimited(self) -> bool:
        return self.total == UNLIMITED

    @property
    def percent(self) -> int:
        """0..100 of the bar; 0 when unlimited (never a full bar for an unlimited limit)."""
        if self.unlimited or self.total <= ZERO:
            return 100 if self.used > ZERO and not self.unlimited else 0
        return min(100, int(self.used * 100 / self.total))

    @property
    def level(self) -> str:
        """ "ok", "warn" (near the limit) or "full" (at or over it); unlimited is always ok."""
        if self.unlimited:
            return "ok"
        if self.used >= self.total and (self.used > ZERO or self.total == ZERO):
            return "full"
        return "warn" if self.used >= self.total * WARN_AT else "ok"

    @property
    def used_text(self) -> str:
        return humanize(self.slot, self.used)

    @property
    def total_text(self) -> str:
        return humanize(self.slot, self.total)

    @property
    def pair_text(self) -> str:
        """ "3 / 6 cores", "1 GiB / 8 GiB", "2 / ∞": used of total in the slot's unit."""
        return with_unit(self.slot, f"{self.used_text} / {self.total_text}", self.total)

    def wire(self) -> dict[str, str]:
        """Exact amounts for the API ("inf" when unlimited)."""
        return {"used": amount_text(self.used), "total": amount_text(self.total)}


@dataclass(frozen=True)
class SlotFigures:
    """One slot kind in Resource Statistics: the user's, the group's and the project's gauge."""

    slot: str
    label: str
    user: Gauge
    group: Gauge
    project: Gauge
    remaining: Decimal  # what one more session could get now (resources.quota.room)
    bound: str = "user"  # the limit that sets it: user, project, group, sessions, pending

    @property
    def remaining_text(self) -> str:
        return show_amount(self.slot, self.remaining)

    @property
    def bound_text(self) -> str:
        """Which limit sets Remaining, as the reader sees it under the figure."""
        return {
            "user": _("set by your limit"),
            "project": _("set by the project's limit"),
            "group": _("the most free on one agent of this group"),
            "sessions": _("you run as many sessions as your policy allows"),
            "pending": _("you have as many pending sessions as your policy allows"),
        }.get(self.bound, "")


@dataclass(frozen=True)
class ResourceStatistics:
    """Resource Statistics for one user in one project and resource group.

    `project` is None for a user in no project, `group` None when the project may use no
    group; then `slots` is empty and `sessions` still shows the user's own count."""

    project: str | None
    project_id: str | None
    groups: list[str]
    group: str | None
    slots: list[SlotFigures]
    sessions: Gauge


@dataclass(frozen=True)
class Utilised:
    """Agents' reserved (ledger) and actually used (reported) amounts against live capacity."""

    slot: str
    label: str
    reserved: Gauge
    used: Gauge


@dataclass(frozen=True)
class SystemResources:
    """System Resources. For a normal user only `sessions` (their own, not finished) is
    filled: `admin` False, `agents` None and `slots` empty."""

    admin: bool
    sessions: int
    agents: int | None = None
    slots: list[Utilised] = field(default_factory=list)
