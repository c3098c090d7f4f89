"""Two-factor login in My Account: turning it on (QR code, key, a first code, recovery codes)
and off (confirmation and a current code).

The dialogs replace My Account's content in its modal (htmx fills #account-box) or, without
htmx, are pages of their own; an admin whom the server requires to use 2FA is sent to the
setup page before anything else (web/deps.py). A refusal shows the dialog again with the
message by the code field; nothing has changed then.
"""

from __future__ import annotations

import io
from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from shipyard.auth import totp
from shipyard.config import Settings
from shipyard.errors import ShipyardError
from shipyard.http.deps import DbDep, SettingsDep, client_address
from shipyard.http.errors import status_of
from shipyard.web import kit
from shipyard.web.deps import TWO_FACTOR_PATH, CurrentViewer, Viewer
from shipyard.web.forms import ShortText

router = APIRouter(prefix=TWO_FACTOR_PATH)
# The dialogs: My Account's modal content (htmx, always 200 so that htmx swaps it), else a page.
DIALOGS = kit.Dialogs(page="two_factor.html")


def qr_svg(uri: str) -> Markup:
    """The otpauth URI as an inline SVG QR code (no script, no style: fine under our CSP)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer, kind="svg", xmldecl=False, svgns=True, scale=4, border=4,
        dark="#000", light="#fff", svgclass="qr-code", lineclass=None,
    )  # fmt: skip
    return Markup(buffer.getvalue().decode("ascii"))  # noqa: S704 - segno's markup, no user text


def _dialog(
    request: Request,
    viewer: Viewer,
    settings: Settings,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """A dialog, saying whether the server requires the viewer to turn 2FA on."""
    full = {"required": totp.setup_due(viewer.user, settings), **context}
    return DIALOGS.show(request, viewer, template, full, status_code=status_code)


def _setup(
    request: Request,
    viewer: Viewer,
    db: DbDep,
    settings: Settings,
    *,
    error: ShipyardError | None = None,
) -> HTMLResponse:
    enrolment = totp.begin_setup(db, viewer.user, settings=settings)
    context = {
        "enrolment": enrolment,
        "qr": qr_svg(enrolment.uri),
        "errors": {"code": error.message} if error else {},
    }
    status_code = status_of(error) if error else 200
    return _dialog(request, viewer, settings, "_2fa_setup.html", context, status_code=status_code)


@router.get("/setup")
def setup_dialog(
    request: Request, viewer: CurrentViewer, db: DbDep, settings: SettingsDep
) -> Response:
    """The QR code and key of a pending secret, and a field for the first code."""
    totp.require_available(settings)
    if viewer.user.totp_enabled:
        return RedirectResponse("/account", status_code=303)
    return _setup(request, viewer, db, settings)


@router.post("/setup")
def confirm_setup(
    request: Request, viewer: CurrentViewer, db: DbDep, settings: SettingsDep, code: ShortText = ""
) -> HTMLResponse:
    """A right first code turns 2FA on and shows the recovery codes, this once."""

    def recovery(codes: list[str]) -> HTMLResponse:
        context = {
            "codes": codes,
            "codes_text": "\n".join(codes) + "\n",
            "onwards": "/" if totp.required_of(viewer.user, settings) else "/account",
        }
        return _dialog(request, viewer, settings, "_2fa_recovery.html", context)

    return kit.attempt(
        lambda: totp.confirm_setup(db, viewer.user, code=code, settings=settings),
        on_done=recovery,
        on_refused=lambda exc: _setup(request, viewer, db, settings, error=exc),
    )


@router.get("/disable")
def disable_dialog(request: Request, viewer: CurrentViewer, settings: SettingsDep) -> Response:
    """Asks to confirm turning 2FA off with a current code."""
    totp.require_available(settings)
    if not viewer.user.totp_enabled:
        return RedirectResponse("/account", status_code=303)
    return _dialog(request, viewer, settings, "_2fa_disable.html", {})


@router.post("/disable")
def disable(
    request: Request, viewer: CurrentViewer, db: DbDep, settings: SettingsDep, code: ShortText = ""
) -> HTMLResponse:
    return kit.attempt(
        lambda: totp.disable(
            db, viewer.user, code=code, settings=settings, client_address=client_address(request)
        ),
        on_done=lambda _none: _dialog(request, viewer, settings, "_2fa_disabled.html", {}),
        on_refused=lambda exc: _dialog(
            request,
            viewer,
            settings,
            "_2fa_disable.html",
            {"errors": {"code": exc.message}},
            status_code=status_of(exc),
        ),
    )
