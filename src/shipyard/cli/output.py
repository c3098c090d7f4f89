"""How commands print: Rich for people, --output json for scripts."""

from __future__ import annotations

import enum
import json
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

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


def fail(message: str, *, code: int = 1) -> None:
    errors.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)
