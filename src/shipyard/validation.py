"""Input rules shared by the API schemas and the console forms."""

from __future__ import annotations

# PostgreSQL text cannot hold NUL; refuse it at the edge instead of failing in the database.
NO_NUL = r"^[^\x00]*$"


def has_nul(*values: str) -> bool:
    return any("\x00" in value for value in values)
