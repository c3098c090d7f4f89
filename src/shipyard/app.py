"""create_app(): the manager's ASGI application (API, console, probes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.exceptions import HTTPException
from starlette.types import Scope
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from shipyard import __version__, errors
from shipyard.agents.notifier import Notifier
from shipyard.api import errors as api_errors
from shipyard.api import metrics as metrics_endpoint
from shipyard.api.deps import api_principal
from shipyard.api.routes import agent_blobs, agent_protocol
from shipyard.api.routes import router as api_router
from shipyard.api.routes.system import health
from shipyard.config import Settings, get_settings
from shipyard.db import Database
from shipyard.edge.limits import RequestLimits
from shipyard.environments import image_jobs
from shipyard.metrics.middleware import HttpMetricsMiddleware
from shipyard.metrics.registry import Metrics
from shipyard.scheduler.loop import SchedulerLoop
from shipyard.sessions import effects
from shipyard.sessions.collector import LogCollector
from shipyard.storage.monitor import StorageMonitor
from shipyard.web import errors as web_errors
from shipyard.web import terminal
from shipyard.web.deps import LoginRequired, web_principal
from shipyard.web.middleware import ConsoleMiddleware
from shipyard.web.router import router as web_router
from shipyard.web.templating import STATIC, make_templates

UPLOAD_PATHS = "/api/v1/uploads/"


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def is_upload_patch(scope: Scope) -> bool:
    """A tus PATCH: its body streams to disk, with its own length and stall checks."""
    return bool(scope["method"] == "PATCH" and scope["path"].startswith(UPLOAD_PATHS))


def _install_error_handlers(app: FastAPI) -> None:
    async def on_domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.ShipyardError)
        if _is_api(request):
            return api_errors.domain_error(exc)
        return await run_in_threadpool(web_errors.domain_error, request, exc)  # may read the db

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if _is_api(request):
            return api_errors.validation_error(exc)
        return web_errors.validation_error(request)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if _is_api(request):
            return api_errors.http_error(exc)
        return await run_in_threadpool(web_errors.http_error, request, exc)  # may read the db

    async def on_login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return web_errors.login_required(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            return api_errors.internal_error(request, exc)
        return web_errors.internal_error(request, exc)

    app.add_exception_handler(errors.ShipyardError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(Exception, on_unexpected)


def _docs(app: FastAPI) -> None:
    @app.get("/api/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        response: HTMLResponse = request.app.state.templates.TemplateResponse(
            request, "api_docs.html", {}
        )
        return response

    @app.get("/api/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.notifier.bind(asyncio.get_running_loop())
    if app.state.run_scheduler:
        # Image jobs this host's earlier process was running died with it: say so.
        await asyncio.to_thread(image_jobs.mark_interrupted, app.state.db)
        await app.state.scheduler.start()
        await app.state.storage_monitor.start()
        await app.state.log_collector.start()
    try:
        yield
    finally:
        await app.state.log_collector.stop()
        await app.state.storage_monitor.stop()
        await app.state.scheduler.stop()


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    run_scheduler: bool = True,
) -> FastAPI:
    """The manager app; pass settings and a database in tests, else both come from config.

    With run_scheduler=False (tests that drive rounds themselves) nothing runs in the
    background, neither the scheduler nor storage upkeep; wake() calls are then no-ops.
    """
    app = FastAPI(
        lifespan=_lifespan,
        title="Shipyard",
        version=__version__,
        description="Self-hosted compute-session platform.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        responses={422: {"description": 'Invalid input: {"error": {code, message, details}}'}},
    )
    app.state.templates = make_templates()
    _install_error_handlers(app)
    app.include_router(health)
    app.include_router(metrics_endpoint.router)
    app.include_router(agent_protocol.router)
    app.include_router(agent_blobs.router)
    app.include_router(api_router, dependencies=[Depends(api_principal)])
    app.include_router(web_router, dependencies=[Depends(web_principal)])
    app.include_router(terminal.socket_router)
    _docs(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    bind(app, settings or get_settings(), database=database, run_scheduler=run_scheduler)
    return app


def bind(
    app: FastAPI,
    settings: Settings,
    *,
    database: Database | None = None,
    run_scheduler: bool = True,
) -> None:
    """Give the app its settings, database and everything made from them, replacing the last.

    Routes and templates stay, since they hold nothing per deployment: the tests build one
    app per worker (its first request builds every route, ~0.4 s) and bind each test's own
    settings and database to it. Call it only while the app serves no request.
    """
    templates = app.state.templates
    app.state = State()
    app.state.templates = templates
    app.state.settings = settings
    app.state.run_scheduler = run_scheduler
    app.state.db = database or Database(settings.effective_database_url)
    app.state.notifier = Notifier()
    app.state.metrics = Metrics()
    app.state.metrics.watch(app.state.db)
    app.state.scheduler = SchedulerLoop(
        app.state.db,
        app.state.notifier,
        tick=settings.scheduler_tick_seconds,
        lost_after=settings.agent_lost_seconds,
        metrics=app.state.metrics,
    )
    # Every commit wakes the agents and the scheduler it concerns: no route has to.
    effects.watch(app.state.db, notifier=app.state.notifier, scheduler=app.state.scheduler)
    app.state.storage_monitor = StorageMonitor(app.state.db, settings)
    app.state.log_collector = LogCollector(app.state.db, settings)
    _install_middleware(app, settings)


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    """The middleware for these settings, instead of any earlier (built on the next request)."""
    app.user_middleware.clear()
    app.middleware_stack = None
    app.add_middleware(
        RequestLimits,
        max_body=settings.request_max_body_bytes,
        body_timeout=settings.request_body_timeout_seconds,
        streams=is_upload_patch,
    )
    app.add_middleware(ConsoleMiddleware, default_language=settings.default_language)
    # Outside the console middleware, which takes the client address for the audit log.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.add_middleware(HttpMetricsMiddleware, metrics=app.state.metrics)  # outermost: times all


def app_factory() -> Any:
    """Entry point for `uvicorn --factory shipyard.app:app_factory`."""
    return create_app()
