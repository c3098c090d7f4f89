"""One API call for `shipyard admin` commands: the answer, or the server's message and exit 1."""

from __future__ import annotations

from typing import Any

from shipyard.cli.client import ApiError, authed, call
from shipyard.cli.output import fail


def admin_call(method: str, path: str, **kwargs: Any) -> Any:
    with authed() as client:
        try:
            return call(client, method, path, **kwargs)
        except ApiError as exc:
            fail(exc.message)
            raise AssertionError from exc  # unreachable: fail() exits
