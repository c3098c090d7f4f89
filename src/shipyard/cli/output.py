"""How commands print: Rich for people, --output json for scripts, errors as one line."""

from __future__ import annotations

import enum
import json
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
errors = Console(stderr=True)


class Output(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


OutputOption = typer.Option(
    Output.TABLE, "--output", "-o", help="table for people, json for scripts"
)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True))


def fail(message: str, *, code: int = 1) -> NoReturn:
    """End the command: the message on stderr, then exit with `code`."""
    errors.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def say(text: str) -> None:
    """A line as written: names people chose are never read as Rich markup."""
    console.print(text, highlight=False, markup=False)


def add_row(table: Table, *cells: str) -> None:
    """Names people and files chose, shown as written, never read as Rich markup."""
    table.add_row(*(escape(cell) for cell in cells))


def human_bytes(count: int | None) -> str:
    """Sizes as people read them: 1.5 MiB; None (no limit) is ∞."""
    if count is None:
        return "∞"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
