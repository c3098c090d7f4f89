"""Folder API calls for `shipyard folder`: a failure ends the command with the server's message."""

from __future__ import annotations

from typing import Any, NoReturn

import httpx
from rich.markup import escape
from rich.table import Table

from shipyard.cli.client import ApiError, call
from shipyard.cli.output import fail
from shipyard.cli.transfer import segment


def die(message: str, *, code: int = 1) -> NoReturn:
    fail(message, code=code)
    raise AssertionError  # unreachable: fail() exits


def stop(exc: ApiError) -> NoReturn:
    die(exc.message)


def api(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    try:
        return call(client, method, path, **kwargs)
    except ApiError as exc:
        stop(exc)


def folder_of(client: httpx.Client, ref: str) -> dict[str, Any]:
    """A folder by name or id, as the caller sees it."""
    found: dict[str, Any] = api(client, "GET", f"/api/v1/folders/{segment(ref)}")
    return found


def files_path(ref: str, action: str = "files") -> str:
    return f"/api/v1/folders/{segment(ref)}/{action}"


def human_bytes(count: int | None) -> str:
    """Sizes as people read them: 1.5 MiB; None (no limit) is ∞."""
    if count is None:
        return "∞"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError  # unreachable: TiB returns


def add_row(table: Table, *cells: str) -> None:
    """Names people and files chose, shown as written, never read as Rich markup."""
    table.add_row(*(escape(cell) for cell in cells))
