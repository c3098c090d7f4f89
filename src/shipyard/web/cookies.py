"""The console's cookies: session, anonymous CSRF, language and theme."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request, Response

from shipyard.config import Settings
from shipyard.http.csrf import ANON_CSRF_COOKIE
from shipyard.http.principal import SESSION_COOKIE
from shipyard.i18n import LANGUAGES
from shipyard.users.models import Theme

if TYPE_CHECKING:
    from shipyard.web.deps import Viewer

LANGUAGE_COOKIE = "shipyard_lang"
THEME_COOKIE = "shipyard_theme"
YEAR = 365 * 24 * 3600


def secure(request: Request, settings: Settings) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return request.url.scheme == "https"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def set_session(request: Request, response: Response, raw: str) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure under HTTPS; expiry is server-side."""
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        httponly=True,
        samesite="lax",
        secure=secure(request, _settings(request)),
        path="/",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def set_anon_csrf(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        ANON_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure(request, _settings(request)),
        path="/",
    )


def clear_anon_csrf(response: Response) -> None:
    response.delete_cookie(ANON_CSRF_COOKIE, path="/")


def set_preference(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=YEAR,
        httponly=True,
        samesite="lax",
        secure=secure(request, _settings(request)),
        path="/",
    )


def language_of(request: Request) -> str | None:
    value = request.cookies.get(LANGUAGE_COOKIE)
    return value if value in LANGUAGES else None


def theme_of(request: Request, viewer: Viewer | None) -> Theme:
    if viewer is not None:
        return viewer.user.theme
    try:
        return Theme(request.cookies.get(THEME_COOKIE, Theme.SYSTEM.value))
    except ValueError:
        return Theme.SYSTEM
