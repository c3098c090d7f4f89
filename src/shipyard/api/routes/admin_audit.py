"""The audit log through the API (admins only): filtered pages as JSON, or all of it as CSV."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from shipyard.api.deps import require_admin
from shipyard.audit import export, query
from shipyard.audit.schemas import MAX_PAGE, AuditEntriesPublic, AuditEntryPublic, AuditFilter
from shipyard.http.deps import DbDep

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])

FilterDep = Annotated[AuditFilter, Query()]
CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The matching entries as CSV."}
}


@router.get("/audit", response_model=AuditEntriesPublic, responses=CSV_ANSWER)
def audit_log(
    request: Request,
    db: DbDep,
    filters: FilterDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> AuditEntriesPublic | Response:
    """Who did what to whom, newest first, 50 a page; `format=csv` gives every match as CSV."""
    if format == "csv":
        return export.response(request.app.state.db, filters)
    found = query.page_of(db, filters, page=page)
    data = [AuditEntryPublic.model_validate(entry) for entry in found.entries]
    return AuditEntriesPublic(data=data, count=found.total)


@router.get("/audit.csv", response_class=Response, responses=CSV_ANSWER)
def audit_csv(request: Request, filters: FilterDep) -> Response:
    """Every entry matching the filter as CSV (streamed; times in UTC, ISO 8601)."""
    return export.response(request.app.state.db, filters)
