"""Logging in and out of the console, and the language choice on the login page.

Logging in takes a password and, for an account with two-factor login on, a one-time
password in a second step: the password step then leaves a challenge (auth/challenge.py)
whose token the browser keeps in a short-lived cookie, and the web session starts only
once the code is right.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from shipyard.auth import challenge, totp
from shipyard.auth import service as auth
from shipyard.config import Settings
from shipyard.errors import AuthenticationFailed, ShipyardError, Throttled
from shipyard.http.deps import DbDep, SettingsDep, client_address
from shipyard.http.errors import status_of
from shipyard.http.principal import SESSION_COOKIE, Principal
from shipyard.i18n import LANGUAGES, _, set_language
from shipyard.users.models import User
from shipyard.web import cookies, kit
from shipyard.web.deps import AnonCsrf, web_principal
from shipyard.web.errors import LOGGED_OUT
from shipyard.web.forms import LongText, ShortText
from shipyard.web.htmx import render

router = APIRouter()

OTP_PATH = "/login/otp"
CHALLENGE_COOKIE = "shipyard_login"


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
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {"email": email, "next": safe_next(next_path), "error": error, "notice": notice}
    return render(request, "login.html", context, anon_csrf=csrf, status_code=status_code)


@router.get("/login")
def login_page(
    request: Request,
    csrf: AnonCsrf,
    principal: Annotated[Principal | None, Depends(web_principal)],
    next: str = "/",
    reason: str = "",
) -> Response:
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, csrf, next_path=next, notice=_notice(reason))


def _notice(reason: str) -> str | None:
    """Why the visitor is here, when they were logged out rather than never logged in."""
    if reason == "idle":
        return _("You were logged out after a period of inactivity.")
    if reason == LOGGED_OUT:
        return _("You have been logged out. Log in again to continue.")
    return None


@router.post("/login")
async def login_submit(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    csrf: AnonCsrf,
    email: LongText = "",
    password: LongText = "",
    next: LongText = "/",
) -> Response:
    """The password step; an account with 2FA on goes on to the one-time password step.

    Async so that the wait an account under attack imposes (auth.wait_turn) holds no thread.
    """
    if email.strip() and password:
        await auth.wait_turn(db, email=email, settings=settings)
    return await run_in_threadpool(
        _password_step, request, db, settings, csrf, email=email, password=password, next=next
    )


def _password_step(
    request: Request,
    db: Session,
    settings: Settings,
    csrf: str,
    *,
    email: str,
    password: str,
    next: str,
) -> Response:
    if not email.strip() or not password:
        message = _("Enter your email and password.")
        return _login_page(
            request, csrf, email=email, next_path=next, error=message, status_code=422
        )
    address = client_address(request)
    creds = auth.Credentials(email=email, password=password, client_address=address)

    def refused(exc: ShipyardError) -> Response:
        throttled = exc if isinstance(exc, Throttled) else None
        page = _login_page(
            request,
            csrf,
            email=email,
            next_path=next,
            error=exc.message,
            status_code=429 if throttled else 401,
        )
        if throttled is not None:
            page.headers["Retry-After"] = str(throttled.retry_after)
        return page

    return kit.attempt(
        lambda: auth.check_password(db, creds, settings=settings),
        on_done=lambda user: _password_passed(
            request, db, settings, user=user, next_path=next, address=address
        ),
        on_refused=refused,
        catch=(AuthenticationFailed, Throttled),
    )


def _password_passed(
    request: Request,
    db: Session,
    settings: Settings,
    *,
    user: User,
    next_path: str,
    address: str,
) -> Response:
    """On to the one-time password step where 2FA is on, else logged in."""
    if totp.code_due(user, settings):
        raw = challenge.open_challenge(
            db, user, next_path=safe_next(next_path), client_address=address
        )
        response = kit.see_other(OTP_PATH)
        _set_challenge_cookie(request, response, raw, settings=settings)
        return response
    auth.complete_login(db, user=user, client_address=address)
    return _logged_in(request, db, settings, user=user, next_path=next_path)


@router.get(OTP_PATH)
def otp_page(
    request: Request, db: DbDep, csrf: AnonCsrf, recovery: Annotated[bool, Query()] = False
) -> Response:
    """The one-time password step, only while a challenge (a right password) is pending."""
    if challenge.find(db, request.cookies.get(CHALLENGE_COOKIE)) is None:
        return RedirectResponse("/login", status_code=303)
    return _otp_page(request, csrf, recovery=recovery)


@router.post(OTP_PATH)
def otp_submit(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    csrf: AnonCsrf,
    code: ShortText = "",
    recovery: ShortText = "",
) -> Response:
    use_recovery = recovery == "1"

    def passed(answered: challenge.Passed) -> Response:
        response = _logged_in(
            request, db, settings, user=answered.user, next_path=answered.next_path
        )
        _clear_challenge_cookie(response)
        return response

    def refused(exc: ShipyardError) -> Response:
        """A wrong code: the step again; a challenge that ended: the password step again."""
        if isinstance(exc, challenge.ChallengeEnded):
            again = _login_page(request, csrf, error=exc.message, status_code=401)
            _clear_challenge_cookie(again)
            return again
        return _otp_page(
            request, csrf, recovery=use_recovery, error=exc.message, status_code=status_of(exc)
        )

    return kit.attempt(
        lambda: challenge.answer(
            db,
            request.cookies.get(CHALLENGE_COOKIE),
            code=code,
            recovery=use_recovery,
            settings=settings,
            client_address=client_address(request),
        ),
        on_done=passed,
        on_refused=refused,
    )


def _otp_page(
    request: Request,
    csrf: str,
    *,
    recovery: bool,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {"recovery": recovery, "error": error, "next": "/", "email": ""}
    return render(request, "login_otp.html", context, anon_csrf=csrf, status_code=status_code)


def _logged_in(
    request: Request, db: Session, settings: Settings, *, user: User, next_path: str
) -> Response:
    """Every factor was right: a new web session (never a reused id), then where they went."""
    raw, _session = auth.start_web_session(
        db,
        user=user,
        settings=settings,
        client_address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
        replaces=request.cookies.get(SESSION_COOKIE),
    )
    response = RedirectResponse(safe_next(next_path), status_code=303)
    cookies.set_session(request, response, raw)
    cookies.clear_anon_csrf(response)
    if user.language:
        cookies.set_preference(request, response, cookies.LANGUAGE_COOKIE, user.language)
    return response


def _set_challenge_cookie(
    request: Request, response: Response, raw: str, *, settings: Settings
) -> None:
    """HttpOnly, SameSite=Lax, sent to the login pages only, gone when the challenge is."""
    response.set_cookie(
        CHALLENGE_COOKIE,
        raw,
        max_age=int(challenge.LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookies.secure(request, settings),
        path="/login",
    )


def _clear_challenge_cookie(response: Response) -> None:
    response.delete_cookie(CHALLENGE_COOKIE, path="/login")


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
