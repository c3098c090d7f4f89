"""What the console's admin Sessions list shows: the filters as the URL carries them, rows,
page links by cursor, and its dialogs (the kit's: a modal for htmx, else a page)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from shipyard.admin.sessions import SessionFilter, SessionPage
from shipyard.sessions.models import OCCUPYING, SessionStatus
from shipyard.sessions.schemas import SessionPublic
from shipyard.web import kit
from shipyard.web.admin.audit.view import breakable
from shipyard.web.sessions import view as sessions_view

PATH = "/admin/sessions"
CHANGED = "shipyard:admin-sessions-changed"
FIELDS = ("user", "project", "group", "agent", "status", "cursor")
EMPTY = SessionPage(sessions=[], total=0, more=False, next=None, previous=None)


@dataclass(frozen=True)
class Filters:
    """The list's filters and cursor as the URL carries them (text as typed, trimmed)."""

    user: str = ""
    project: str = ""
    group: str = ""
    agent: str = ""
    status: str = ""
    after: str = ""
    before: str = ""

    @classmethod
    def read(cls, **given: str) -> Filters:
        """The URL's values, trimmed; a status in any case as the list names it."""
        values = {key: value.strip() for key, value in given.items()}
        if values.get("status", "").upper() in SessionStatus.__members__:
            values["status"] = values["status"].upper()
        return cls(**values)

    def spec(self) -> SessionFilter:
        return SessionFilter(
            user=self.user,
            project=self.project,
            group=self.group,
            agent=self.agent,
            status=self.status,
            after=self.after,
            before=self.before,
        )

    def query(self) -> dict[str, str]:
        """The filters alone (no cursor), without the empty ones."""
        params = {
            "user": self.user,
            "project": self.project,
            "group": self.group,
            "agent": self.agent,
            "status": self.status,
        }
        return {key: value for key, value in params.items() if value}

    @property
    def filtered(self) -> bool:
        return bool(self.query())

    def url(self, *, after: str = "", before: str = "") -> str:
        """This list's address at the page a cursor names, or at its first page."""
        params = self.query()
        if after:
            params["after"] = after
        if before:
            params["before"] = before
        return PATH + (f"?{urlencode(params)}" if params else "")

    def here(self) -> str:
        """The address of the page shown."""
        return self.url(after=self.after, before=self.before)


@dataclass(frozen=True)
class Row:
    session: SessionPublic
    resources: str
    age: str
    stoppable: bool


def stoppable(session: SessionPublic) -> bool:
    """Whether an administrator can still end it (pending, or occupying and not ending)."""
    return session.status is SessionStatus.PENDING or (
        session.status in OCCUPYING and session.status is not SessionStatus.TERMINATING
    )


def rows_of(sessions: list[SessionPublic]) -> list[Row]:
    now = datetime.now(UTC)
    return [
        Row(
            session=s,
            resources=sessions_view.resources_text(s.resources),
            age=sessions_view.age(s.created_at, now),
            stoppable=stoppable(s),
        )
        for s in sessions
    ]


def resources_text(amounts: dict[str, str]) -> str:
    return sessions_view.resources_text(amounts)


def session_path(session_id: uuid.UUID, action: str = "") -> str:
    return f"{PATH}/{session_id}" + (f"/{action}" if action else "")


def looks() -> dict[str, Any]:
    return {
        **sessions_view.looks(),
        "statuses": [status.value for status in SessionStatus],
        "breakable": breakable,
    }


DIALOGS = kit.Dialogs(page="admin/sessions_dialog.html", looks=looks)
