"""GET /metrics: the Prometheus text format, for a scraper with a token or an allowed address."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from shipyard.config import Settings
from shipyard.http.deps import client_address
from shipyard.i18n import _
from shipyard.metrics.access import Verdict, decide
from shipyard.metrics.registry import Metrics

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Runs in a worker thread: the database gauges are read while answering."""
    settings: Settings = request.app.state.settings
    verdict = decide(
        authorization=request.headers.get("authorization"),
        address=client_address(request),
        token=settings.metrics_token,
        allow=settings.metrics_allow,
    )
    if verdict is Verdict.UNAUTHORIZED:
        return PlainTextResponse(
            _("Wrong metrics token.") + "\n",
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    if verdict is Verdict.FORBIDDEN:
        return PlainTextResponse(
            _("Metrics need the metrics token or an allowed address.") + "\n", status_code=403
        )
    registry: Metrics = request.app.state.metrics
    return Response(registry.exposition(), media_type=CONTENT_TYPE_PLAIN_0_0_4)
