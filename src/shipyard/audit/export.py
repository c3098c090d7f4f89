"""The audit log as CSV, streamed batch by batch, safe to open in a spreadsheet.

A cell that a spreadsheet would read as a formula (starting with = + - @ |, a tab or a
carriage return; `|` starts a DDE call in some) gets a leading apostrophe. The text starts
with a UTF-8 byte order mark so that spreadsheets read non-ASCII names right; times are
ISO 8601 in UTC.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date

from starlette.responses import StreamingResponse

from shipyard.audit import query
from shipyard.audit.models import AuditEntry
from shipyard.audit.schemas import AuditFilter
from shipyard.db import Database, utcnow

BOM = "\ufeff"
HEADER = (
    "time",
    "actor",
    "action",
    "target_type",
    "target_id",
    "target",
    "address",
    "result",
    "details",
)
_FORMULA_START = ("=", "+", "-", "@", "|", "\t", "\r")


def neutralise(cell: str) -> str:
    """`cell`, or `'cell` where a spreadsheet would run it as a formula."""
    return f"'{cell}" if cell.startswith(_FORMULA_START) else cell


def row_of(entry: AuditEntry) -> list[str]:
    at = entry.at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    details = json.dumps(entry.details, ensure_ascii=False, sort_keys=True) if entry.details else ""
    cells = [
        at,
        entry.actor_email,
        entry.action,
        entry.target_type,
        entry.target_id,
        entry.target_label,
        entry.client_address,
        "success" if entry.success else "failure",
        details,
    ]
    return [neutralise(cell) for cell in cells]


def lines(batches: Iterable[list[AuditEntry]]) -> Iterator[str]:
    """The CSV text in chunks: the header, then one chunk per batch of entries."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    yield BOM + buffer.getvalue()
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(row_of(entry) for entry in batch)
        yield buffer.getvalue()


def filename(today: date) -> str:
    return f"shipyard-audit-{today.isoformat()}.csv"


def _stream(database: Database, spec: AuditFilter) -> Iterator[str]:
    with database.sessions() as db:
        yield from lines(query.batches(db, spec))


def response(database: Database, spec: AuditFilter) -> StreamingResponse:
    """The filtered log as a CSV download; it reads in its own session while it streams
    (the request's session may be closed before the last batch is sent)."""
    name = filename(utcnow().date())
    return StreamingResponse(
        _stream(database, spec),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
