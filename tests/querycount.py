"""Counting SQL statements, so page tests can assert that their count does not grow with data."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy import Engine, event


class QueryCounter:
    """Context manager; `count` is the number of statements since entering or the last reset."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()

    def _record(self, *args: Any) -> None:
        self.statements.append(args[2])

    def __enter__(self) -> QueryCounter:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)
