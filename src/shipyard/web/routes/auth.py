"""Logging in and out of the console, and the language choice on the login page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shipyard.api.deps import SESSION_COOKIE, DbDep, Principal, SettingsDep, client_address
from shipyard.auth import service as auth
from shipyard.errors import AuthenticationFailed, Throttled
from shipyard.i18n import LANGUAGES, _, set_language
from shipyard.web import cookies
from shipyard.web.deps import AnonCsrf, web_principal
from shipyard.web.forms import LongText
from shipyard.web.htmx import render

router = APIRouter()


def safe_next(path: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")):
        return "/"
    return path


def _login_page(
    request: Request,
    csrf: str,
    *,
    email: str = "",
    next_path: str = "/",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {"email": email, "next": safe_next(next_path), "error": error}
    return render(request, "login.html", context, anon_csrf=csrf, status_code=status_code)


@router.get("/login")
def login_page(
    request: Request,
    csrf: AnonCsrf,
    principal: Annotated[Principal | None, Depends(web_principal)],
    next: str = "/",
) -> Response:
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, csrf, next_path=next)


@router.post("/login")
def login_submit(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    csrf: AnonCsrf,
    email: LongText = "",
    password: LongText = "",
    next: LongText = "/",
) -> Response:
    if not email.strip() or not password:
        message = _("Enter your email and password.")
        return _login_page(
            request, csrf, email=email, next_path=next, error=message, status_code=422
        )
    creds = auth.Credentials(email=email, password=password, client_address=client_address(request))
    try:
        user = auth.authenticate(db, creds, settings=settings)
    except (AuthenticationFailed, Throttled) as exc:
        status_code = 429 if isinstance(exc, Throttled) else 401
        return _login_page(
            request, csrf, email=email, next_path=next, error=exc.message, status_code=status_code
        )
    raw, _session = auth.start_web_session(
        db,
        user=user,
        settings=settings,
        client_address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
        replaces=request.cookies.get(SESSION_COOKIE),
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    cookies.set_session(request, response, raw)
    cookies.clear_anon_csrf(response)
    if user.language:
        cookies.set_preference(request, response, cookies.LANGUAGE_COOKIE, user.language)
    return response


@router.post("/logout")
def logout(request: Request, db: DbDep) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        auth.end_web_session(db, raw)
    response = RedirectResponse("/login", status_code=303)
    cookies.clear_session(response)
    return response


@router.post("/language")
def choose_language(request: Request, language: LongText = "", next: LongText = "/") -> Response:
    """The language of an anonymous visitor (logged-in users save it in Preferences)."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if language in LANGUAGES:
        set_language(language)
        cookies.set_preference(request, response, cookies.LANGUAGE_COOKIE, language)
    return response
