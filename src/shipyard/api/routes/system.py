"""Version, license and health probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from shipyard import __version__, migrate
from shipyard.db import Database

LICENSE = "Apache-2.0"

router = APIRouter(tags=["system"])
health = APIRouter(tags=["health"], include_in_schema=False)


class VersionInfo(BaseModel):
    version: str
    license: str


@router.get("/version")
def version() -> VersionInfo:
    return VersionInfo(version=__version__, license=LICENSE)


@health.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@health.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers and its schema is current."""
    database: Database = request.app.state.db
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = migrate.is_current(database.engine)
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if not current:
        return JSONResponse({"status": "unavailable", "database": "migrations pending"}, 503)
    return JSONResponse({"status": "ok", "database": "ok"})
