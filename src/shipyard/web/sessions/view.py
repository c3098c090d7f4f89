"""How sessions show on the Sessions pages: list rows, statuses, ages and a session's output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from shipyard.config import Settings
from shipyard.errors import Conflict
from shipyard.i18n import _
from shipyard.resources.slots import ResourceSlots, humanize, show_amount
from shipyard.sessions import logs
from shipyard.sessions.models import FINISHED, ComputeSession, SessionStatus, SessionType
from shipyard.sessions.presenter import present
from shipyard.sessions.schemas import SessionPublic
from shipyard.web import kit

LOG_POLL = "every 2s"
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
        parts.append(show_amount("cuda.device", slots["cuda.device"]))
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
        "finished": FINISHED,
        "types": {SessionType.BATCH: _("Batch"), SessionType.INTERACTIVE: _("Interactive")},
        "when": when,
    }


def rows_of(db: Session, found: list[ComputeSession]) -> list[Row]:
    """The list's rows, ages counted from now."""
    now = datetime.now(UTC)
    return [Row(s, resources_text(s.resources), age(s.created_at, now)) for s in present(db, found)]


# A session's page ----------------------------------------------------------------------


@dataclass(frozen=True)
class LogUpdate:
    """What one logs poll brings: new output, where to go on from, and whether to go on."""

    data: str = ""
    offset: int = 0
    trigger: str | None = LOG_POLL  # the next poll's hx-trigger; None stops polling
    note: str = ""
    seen: int = 0  # history entries the page already shows

    @property
    def html(self) -> Markup:
        """The output escaped for the page, carriage returns as references: an HTML parser
        turns a literal CR into a line feed, and the terminal needs it to overwrite a line."""
        return escape(self.data).replace("\r", Markup("&#13;"))


def read_logs(db: Session, settings: Settings, session: ComputeSession, offset: int) -> LogUpdate:
    """Output from `offset` on, as the API's logs route reads it (the manager's copy, brought
    up to date from the agent); an agent that cannot be reached leaves a note instead."""
    read, note = kit.attempt(
        lambda: logs.read_output(db, settings, session=session, offset=offset),
        on_done=lambda read: (read, ""),
        on_refused=lambda exc: (logs.Output("", offset, more=False), exc.message),
        catch=(Conflict,),
    )
    data, next_offset = read.data, read.offset
    active = session.status not in FINISHED
    if read.more:
        trigger: str | None = "load"  # more is kept already: read on at once
    elif active:
        trigger = LOG_POLL
    else:
        trigger = "load" if data else None  # a finished session's output is read to its end
    if not note and next_offset == 0:
        note = _("No output yet.") if active else _("This session wrote no output.")
    return LogUpdate(data=data, offset=next_offset, trigger=trigger, note=note)


def session_context(db: Session, session: ComputeSession) -> dict[str, Any]:
    """What session.html shows of a session."""
    shown = present(db, [session])[0]
    return {
        "s": shown,
        "active": shown.status not in FINISHED,
        "resources": resources_text(shown.resources),
        "log_poll": LOG_POLL,
        **looks(),
    }
