"""Every unsafe request made with a session cookie needs the CSRF token, console and API.

The walk covers every POST/PUT/PATCH/DELETE route of the app (path parameters filled with a
made-up id); a cookie-authenticated request without the token is refused with 403 before
anything runs, so nothing changes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.factories import Factory
from tests.webclient import login

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
AGENT_PREFIX = "/api/v1/agent/"  # agents authenticate with their own tokens, never cookies


def unsafe_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods & UNSAFE):
                yield method, prefix + route.path
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from unsafe_routes(included.routes, prefix + route.include_context.prefix)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def test_every_unsafe_route_refuses_a_cookie_request_without_the_token(
    client: TestClient, app: FastAPI, factory: Factory
) -> None:
    account = factory.user()
    assert login(client, account.email, account.password).status_code == 303
    found = [
        (method, path)
        for method, path in unsafe_routes(app.routes)
        if not path.startswith(AGENT_PREFIX) and path != "/logout"
    ]
    assert len(found) >= 40, "the walk should see the whole app"
    accepted = []
    for method, path in found:
        response = client.request(method, concrete(path), data={"name": "x"})
        if response.status_code != 403:
            accepted.append(f"{method} {path}: {response.status_code}")
    assert accepted == []
    assert client.get("/").status_code == 200  # still logged in: nothing was ended
