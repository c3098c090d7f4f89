"""What the audit log page shows: the filter as typed, rows in words, links that keep the filter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup, escape
from pydantic import ValidationError

from shipyard.audit import labels
from shipyard.audit.models import AuditEntry
from shipyard.audit.schemas import MAX_PAGE, AuditFilter
from shipyard.i18n import _

FIELDS = tuple(AuditFilter.model_fields)
SHOWN_DETAILS = 2  # key: value pairs visible before the row is expanded


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    when: str  # minutes, UTC; the page's script shows it in the browser's time zone
    when_iso: str
    when_exact: str
    action_label: str
    target: str
    details: list[tuple[str, str]]

    @property
    def more_details(self) -> bool:
        return len(self.details) > SHOWN_DETAILS


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def row_of(entry: AuditEntry) -> AuditRow:
    at = entry.at.astimezone(UTC)
    return AuditRow(
        entry=entry,
        when=at.strftime("%Y-%m-%d %H:%M"),
        when_iso=at.isoformat(),
        when_exact=at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        action_label=labels.label_of(entry.action),
        target=entry.target_label or entry.target_id,
        details=[(str(key), _value_text(value)) for key, value in sorted(entry.details.items())],
    )


def breakable(text: str) -> Markup:
    """`text`, escaped, allowed to wrap before an @ (emails) rather than mid-word."""
    return escape(text).replace("@", Markup("<wbr>@"))


def _problem(exc: ValidationError) -> str:
    """The first thing wrong with a filter, in words."""
    field = str(exc.errors()[0]["loc"][0]) if exc.errors()[0]["loc"] else ""
    if field in ("since", "until"):
        return _("Enter days as YYYY-MM-DD.")
    if field == "action":
        return _("Pick an action from the list.")
    if not field:
        return _("The first day comes after the last.")
    return _("This filter is not valid; change it and try again.")


@dataclass(frozen=True)
class FilterForm:
    """The filter as the form shows it back (what was typed), and the valid one, if it is."""

    values: dict[str, str]
    valid: AuditFilter | None
    error: str = ""


def read_filter(params: Mapping[str, str]) -> FilterForm:
    values = {name: params.get(name, "")[:300] for name in FIELDS}
    try:
        valid = AuditFilter.model_validate(values)
    except ValidationError as exc:
        return FilterForm(values=values, valid=None, error=_problem(exc))
    return FilterForm(values=values, valid=valid)


def read_page(text: str) -> int:
    """A page number from the URL; anything unreadable is the first page."""
    return min(int(text), MAX_PAGE) if text.isascii() and text.isdigit() and int(text) else 1


def link(path: str, spec: AuditFilter, **extra: int) -> str:
    """`path` with the filter (and e.g. a page number) as its query."""
    params: dict[str, str | int] = {**spec.query(), **extra}
    return f"{path}?{urlencode(params)}" if params else path
