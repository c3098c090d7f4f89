"""HTTP calls from the CLI to a manager, with the API's error shape turned into messages."""

from __future__ import annotations

from typing import Any

import httpx

from shipyard import __version__
from shipyard.cli import credentials
from shipyard.cli.output import fail


class ApiError(Exception):
    """A failed API call, with the server's user-facing message."""

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def make_client(endpoint: str, token: str | None = None, *, timeout: float = 30.0) -> httpx.Client:
    headers = {"User-Agent": f"shipyard-cli/{__version__}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=endpoint.rstrip("/"), headers=headers, timeout=timeout)


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """The decoded JSON body (None for 204), or ApiError with the server's message."""
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise ApiError(f"cannot reach {client.base_url}: {exc}") from exc
    if response.status_code == 204:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_error:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        message = error.get("message") or f"HTTP {response.status_code}"
        raise ApiError(message, status=response.status_code, code=error.get("code", ""))
    return body


def authed() -> httpx.Client:
    """A client for the stored (or SHIPYARD_ENDPOINT / SHIPYARD_TOKEN) credentials."""
    creds = credentials.load()
    if creds is None:
        fail("not logged in: run `shipyard login` or set SHIPYARD_ENDPOINT and SHIPYARD_TOKEN")
        raise AssertionError  # unreachable: fail() exits
    return make_client(creds.endpoint, creds.token)
