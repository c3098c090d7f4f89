"""The agent's own small API, called by the manager only: session logs (and terminals)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from shipyard.agent.runtime.base import Runtime

SESSION_ID = r"^[0-9a-f]{32}$"


def create_agent_api(runtime: Runtime, *, secret: str) -> FastAPI:
    app = FastAPI(title="Shipyard agent", docs_url=None, redoc_url=None, openapi_url=None)

    def manager_only(authorization: Annotated[str, Header()] = "") -> None:
        scheme, _sep, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(value.strip(), secret):
            raise HTTPException(status_code=401, detail="manager credentials required")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/sessions/{session_id}/logs", dependencies=[Depends(manager_only)])
    async def logs(
        session_id: Annotated[str, Path(pattern=SESSION_ID)],
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        if await run_in_threadpool(runtime.status, session_id) is None:
            raise HTTPException(status_code=404, detail="no such session")
        data, next_offset = await run_in_threadpool(runtime.read_logs, session_id, offset=offset)
        return Response(
            content=data,
            media_type="application/octet-stream",
            headers={"X-Next-Offset": str(next_offset)},
        )

    return app
