"""Preferences: settings a user keeps on the server (language, theme, ...)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shipyard.api.deps import DbDep
from shipyard.i18n import set_language
from shipyard.users import service as users
from shipyard.web import cookies
from shipyard.web.deps import CurrentViewer
from shipyard.web.forms import ShortText
from shipyard.web.htmx import render

router = APIRouter()


@router.get("/preferences")
def preferences(request: Request, viewer: CurrentViewer) -> HTMLResponse:
    return render(request, "preferences.html", viewer=viewer)


@router.post("/preferences")
def save_preferences(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    language: ShortText = "",
    theme: ShortText = "",
) -> Response:
    user = users.save_preferences(db, user=viewer.user, language=language, theme=theme)
    set_language(user.language or language)
    response = RedirectResponse("/preferences?saved=1", status_code=303)
    if user.language:
        cookies.set_preference(request, response, cookies.LANGUAGE_COOKIE, user.language)
    return response
