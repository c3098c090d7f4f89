"""The one way the CLI calls a manager: clients, the API's error shape as messages, paging.

`call` raises `ApiError` for callers that treat a failure themselves (a 401 on logout, a 409
on mkdir -p); `api` ends the command with the server's message; `once` is `api` on a client of
its own for commands that make a single call. Every client is made by `make_client`, which
talks through `transport` when one is given, else through the one `use_transport` set (tests
serve their app in-process that way), else over the network.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

import httpx

from shipyard import __version__
from shipyard.cli import credentials
from shipyard.cli.output import fail

_transport: ContextVar[httpx.BaseTransport | None] = ContextVar("cli_transport", default=None)


class ApiError(Exception):
    """A failed API call, with the server's user-facing message."""

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


@contextmanager
def use_transport(transport: httpx.BaseTransport) -> Iterator[None]:
    """Clients made inside talk through `transport` (an app served in-process) instead."""
    token = _transport.set(transport)
    try:
        yield
    finally:
        _transport.reset(token)


def make_client(
    endpoint: str,
    token: str | None = None,
    *,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    headers = {"User-Agent": f"shipyard-cli/{__version__}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(
        base_url=endpoint.rstrip("/"),
        headers=headers,
        timeout=timeout,
        transport=transport or _transport.get(),
    )


def authed() -> httpx.Client:
    """A client for the stored (or SHIPYARD_ENDPOINT / SHIPYARD_TOKEN) credentials."""
    creds = credentials.load()
    if creds is None:
        fail("not logged in: run `shipyard login` or set SHIPYARD_ENDPOINT and SHIPYARD_TOKEN")
    return make_client(creds.endpoint, creds.token)


def api_error(response: httpx.Response) -> ApiError:
    """The server's message from our JSON error shape, else the HTTP status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error", {}) if isinstance(body, dict) else {}
    message = error.get("message") or f"HTTP {response.status_code}"
    return ApiError(message, status=response.status_code, code=error.get("code", ""))


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """The decoded JSON body (None for 204), or ApiError with the server's message."""
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise ApiError(f"cannot reach {client.base_url}: {exc}") from exc
    if response.is_error:
        raise api_error(response)
    if response.status_code == 204:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def api(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """The decoded JSON body; a failure ends the command with the server's message."""
    try:
        return call(client, method, path, **kwargs)
    except ApiError as exc:
        fail(exc.message)


def once(method: str, path: str, **kwargs: Any) -> Any:
    """`api` as the logged-in user, on a client of its own."""
    with authed() as client:
        return api(client, method, path, **kwargs)


def every_page(
    client: httpx.Client, path: str, *, params: dict[str, Any], offset: int, limit: int
) -> dict[str, Any]:
    """All pages of a `{data, count}` listing from `offset` on, as one page."""
    page: dict[str, Any] = api(
        client, "GET", path, params={**params, "offset": offset, "limit": limit}
    )
    while offset + len(page["data"]) < page["count"]:
        at = offset + len(page["data"])
        more = api(client, "GET", path, params={**params, "offset": at, "limit": limit})
        if not more["data"]:  # the listing shrank meanwhile
            break
        page = {**more, "data": page["data"] + more["data"], "offset": offset}
    return page


def segment(value: str) -> str:
    """One URL path segment: a folder name or an email can hold no `/` or `?`."""
    return quote(value, safe="")
