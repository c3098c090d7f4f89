"""The console's announcement editor (admins only): write Markdown, see the banner's preview
as you type (rendered by the server, so preview and banner are the same HTML), save, clear."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shipyard.announcements import service as announcements
from shipyard.announcements.schemas import BODY_LIMIT, MAX_LENGTH
from shipyard.errors import ShipyardError
from shipyard.http.deps import DbDep
from shipyard.http.errors import status_of
from shipyard.i18n import _
from shipyard.web.deps import CurrentAdmin, Viewer
from shipyard.web.htmx import render

router = APIRouter(prefix="/admin/announcement")
PAGE = "/admin/announcement"

Message = Annotated[str, Form(max_length=BODY_LIMIT)]


def _editor(
    request: Request, viewer: Viewer, db: DbDep, *, form: dict[str, Any], **extra: Any
) -> HTMLResponse:
    status_code = extra.pop("status_code", 200)
    context = {
        "saved": announcements.get(db),
        "form": form,
        "max_length": MAX_LENGTH,
        "preview": _preview(form["message"]),
        "notice": "",
        "error": "",
        **extra,
    }
    return render(
        request, "admin/announcement.html", context, viewer=viewer, status_code=status_code
    )


def _preview(message: str) -> dict[str, str]:
    try:
        return {"html": str(announcements.preview(message)), "error": ""}
    except ShipyardError as exc:
        return {"html": "", "error": exc.message}


NOTICES = {"saved": lambda: _("Announcement saved."), "cleared": lambda: _("Announcement cleared.")}


@router.get("")
def editor(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    done: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    saved = announcements.get(db)
    form = {"message": saved.message, "enabled": saved.enabled or not saved.message}
    notice = NOTICES[done]() if done in NOTICES else ""
    return _editor(request, viewer, db, form=form, notice=notice)


@router.post("")
def save(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    message: Message = "",
    enabled: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Save and show the banner at once (the page reloads with it)."""
    shown = enabled in ("on", "true", "1")
    try:
        announcements.set_(db, message=message, enabled=shown, by=viewer.user)
    except ShipyardError as exc:
        form = {"message": message, "enabled": shown}
        return _editor(
            request, viewer, db, form=form, error=exc.message, status_code=status_of(exc)
        )
    return RedirectResponse(f"{PAGE}?done=saved", status_code=303)


@router.post("/clear")
def clear(viewer: CurrentAdmin, db: DbDep) -> Response:
    announcements.clear(db, by=viewer.user)
    return RedirectResponse(f"{PAGE}?done=cleared", status_code=303)


@router.post("/preview")
def preview(request: Request, viewer: CurrentAdmin, message: Message = "") -> HTMLResponse:
    """The banner as it would look (htmx, while typing); nothing is saved."""
    context = {"preview": _preview(message)}
    return render(request, "admin/_announcement_preview.html", context, viewer=viewer)
