"""The console's audit log (admins only): filter, page through, export as CSV."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from shipyard.audit import export, labels, query
from shipyard.audit.query import AuditPage
from shipyard.audit.schemas import AuditFilter
from shipyard.errors import InvalidInput
from shipyard.http.deps import DbDep
from shipyard.web.admin.audit import view
from shipyard.web.deps import CurrentAdmin
from shipyard.web.htmx import render

router = APIRouter(prefix="/admin")

PAGE_PATH = "/admin/audit"
CSV_PATH = "/admin/audit.csv"


@router.get("/audit")
def audit_page(request: Request, viewer: CurrentAdmin, db: DbDep) -> HTMLResponse:
    """The filter form and one page of entries; htmx refreshes get only the results."""
    form = view.read_filter(request.query_params)
    spec = form.valid or AuditFilter()
    number = view.read_page(request.query_params.get("page", "1"))
    found = query.page_of(db, spec, page=number) if form.valid else AuditPage([], 0, 1)
    context = {
        "form": form,
        "found": found,
        "rows": [view.row_of(entry) for entry in found.entries],
        "choices": labels.choices(),
        "breakable": view.breakable,
        "export_url": view.link(CSV_PATH, spec),
        "page_url": lambda page: view.link(PAGE_PATH, spec, page=page),
    }
    restoring = request.headers.get("hx-history-restore-request") == "true"
    fragment = None if restoring else "admin/_audit_results.html"
    response = render(request, "admin/audit.html", context, viewer=viewer, fragment=fragment)
    if form.valid:  # the address bar shows the filter without its empty fields
        extra = {"page": number} if number > 1 else {}
        response.headers["HX-Push-Url"] = view.link(PAGE_PATH, spec, **extra)
    return response


@router.get("/audit.csv")
def audit_csv(request: Request, viewer: CurrentAdmin) -> Response:
    """Every entry matching the filter as a CSV download; an invalid filter is refused."""
    form = view.read_filter(request.query_params)
    if form.valid is None:
        raise InvalidInput(form.error)
    return export.response(request.app.state.db, form.valid)
