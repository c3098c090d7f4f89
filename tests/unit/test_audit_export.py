"""CSV export of the audit log: formula neutralising, times, details and chunking."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from shipyard.audit import export
from shipyard.audit.models import AuditEntry


def entry(**fields: object) -> AuditEntry:
    values: dict[str, object] = {
        "at": datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC),
        "actor_email": "a@example.org",
        "action": "user.create",
        "target_type": "user",
        "target_id": "42",
        "target_label": "b@example.org",
        "client_address": "10.0.0.1",
        "success": True,
        "details": {},
    }
    values.update(fields)
    return AuditEntry(**values)


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+49 30 1234", "'+49 30 1234"),
        ("-5", "'-5"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("|cmd '/c calc'!A0", "'|cmd '/c calc'!A0"),
        ("plain = text", "plain = text"),
        ("a|b", "a|b"),
        ("", ""),
        ("Ünal 例え", "Ünal 例え"),
    ],
)
def test_cells_a_spreadsheet_would_run_get_an_apostrophe(cell: str, safe: str) -> None:
    assert export.neutralise(cell) == safe


def test_a_row_has_utc_iso_time_result_and_sorted_json_details() -> None:
    local = datetime(2024, 5, 1, 14, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    row = export.row_of(entry(at=local, success=False, details={"z": 1, "a": "ä"}))
    assert row[0] == "2024-05-01T12:00:05Z"
    assert row[7] == "failure"
    assert row[8] == '{"a": "ä", "z": 1}'


def test_lines_are_a_header_then_one_chunk_per_batch() -> None:
    chunks = list(export.lines([[entry(), entry()], [entry(target_label="=evil()")]]))
    assert len(chunks) == 3
    assert chunks[0].startswith(export.BOM)
    rows = list(csv.reader(io.StringIO("".join(chunks).removeprefix(export.BOM))))
    assert rows[0] == list(export.HEADER)
    assert [row[5] for row in rows[1:]] == ["b@example.org", "b@example.org", "'=evil()"]


def test_the_file_is_named_after_the_day() -> None:
    assert export.filename(date(2024, 5, 1)) == "shipyard-audit-2024-05-01.csv"
