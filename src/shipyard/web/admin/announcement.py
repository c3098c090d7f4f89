"""The console's announcement editor (admins only): write Markdown, see the banner's preview
as you type (rendered by the server, so preview and banner are the same HTML), save, clear."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from shipyard.announcements import service as announcements
from shipyard.announcements.schemas import BODY_LIMIT, MAX_LENGTH
from shipyard.http.deps import DbDep
from shipyard.http.errors import status_of
from shipyard.i18n import _
from shipyard.web import kit
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
    """The banner's HTML, or why the message cannot be shown."""
    return kit.attempt(
        lambda: announcements.preview(message),
        on_done=lambda html: {"html": str(html), "error": ""},
        on_refused=lambda exc: {"html": "", "error": exc.message},
    )


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
    form = {"message": message, "enabled": shown}
    return kit.attempt(
        lambda: announcements.set_(db, message=message, enabled=shown, by=viewer.user),
        on_done=lambda _result: kit.see_other(f"{PAGE}?done=saved"),
        on_refused=lambda exc: _editor(
            request, viewer, db, form=form, error=exc.message, status_code=status_of(exc)
        ),
    )


@router.post("/clear")
def clear(viewer: CurrentAdmin, db: DbDep) -> Response:
    announcements.clear(db, by=viewer.user)
    return kit.see_other(f"{PAGE}?done=cleared")


@router.post("/preview")
def preview(request: Request, viewer: CurrentAdmin, message: Message = "") -> HTMLResponse:
    """The banner as it would look (htmx, while typing); nothing is saved."""
    context = {"preview": _preview(message)}
    return render(request, "admin/_announcement_preview.html", context, viewer=viewer)
