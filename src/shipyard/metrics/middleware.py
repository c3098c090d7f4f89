"""HTTP request latency and concurrency, as a pure ASGI middleware.

The route label is the matched route's path template (`/api/v1/sessions/{session_id}`), or
`unmatched`: never the raw path, so the number of series stays bounded whatever clients send.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.metrics.registry import Metrics

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def route_label(scope: Scope) -> str:
    """The path template the router matched (noted in the scope as it routes), or unmatched.

    A route of an included router knows only its own part of the path; FastAPI keeps the
    whole template in its effective route context, so that is preferred where present. A
    mounted app (static files) is named by its mount point: `/static/{path}`.
    """
    context = scope.get("fastapi", {}).get("effective_route_context")
    for source in (context, scope.get("route")):
        path = getattr(source, "path", None)
        if isinstance(path, str) and path:
            return path
    if "app_root_path" in scope:  # set only when a Mount matched
        mount = str(scope.get("root_path", ""))[len(scope["app_root_path"]) :]
        if mount:
            return mount + "/{path}"
    return UNMATCHED


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.duration = metrics.http_request_duration_seconds
        self.in_flight = metrics.http_requests_in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the server answers if the app raises before responding

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        self.in_flight.inc()
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self.in_flight.dec()
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.duration.labels(method, route_label(scope), f"{status // 100}xx").observe(
                time.perf_counter() - started
            )
