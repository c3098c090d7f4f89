"""Preferences: settings a user keeps on the server, personal API tokens and SSH keys.

The settings form is a plain form (a new language or theme needs a new page anyway). The
token and key panels post with htmx and are swapped in place, refusals included; without
htmx the same forms answer with the whole page. Revoking and deleting ask for confirmation
in the console's dialog, or on a page of their own without htmx.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from shipyard.auth import personal_tokens, ssh_keys
from shipyard.config import Settings
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.http.errors import status_of
from shipyard.i18n import _, set_language
from shipyard.users import preferences
from shipyard.users.models import User
from shipyard.validation import NO_NUL
from shipyard.web import cookies, kit
from shipyard.web.account import panels as view
from shipyard.web.deps import CurrentViewer, Viewer
from shipyard.web.forms import LongText, ShortText
from shipyard.web.htmx import is_htmx, render

router = APIRouter(prefix="/preferences")

KeyText = Annotated[str, Form(max_length=20000, pattern=NO_NUL)]
TOKENS_CHANGED = "shipyard:tokens-changed"
KEYS_CHANGED = "shipyard:ssh-keys-changed"
SETTINGS_FIELDS = ("language", "theme", view.IDLE_FIELD)
# Confirmations (revoke a token, delete a key): the modal's content for htmx, else a page.
DIALOGS = kit.Dialogs(page="preferences_dialog.html", looks=lambda: {"view": view})


def _page(
    request: Request,
    viewer: Viewer,
    db: Session,
    settings: Settings,
    *,
    settings_form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    tokens: view.TokensPanel | None = None,
    keys: view.KeysPanel | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "form": settings_form or view.settings_form(viewer.user),
        "errors": errors or {},
        "idle_choices": view.idle_choices(settings),
        "tokens": tokens or view.tokens_panel(db, settings, viewer.user),
        "keys": keys or view.keys_panel(db, viewer.user),
        "view": view,
    }
    return render(request, "preferences.html", context, viewer=viewer, status_code=status_code)


def _section(
    request: Request,
    viewer: Viewer,
    db: Session,
    settings: Settings,
    *,
    tokens: view.TokensPanel | None = None,
    keys: view.KeysPanel | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """One panel for htmx (200 even for a refusal, so htmx swaps it in), else the page."""
    if not is_htmx(request):
        return _page(
            request, viewer, db, settings, tokens=tokens, keys=keys, status_code=status_code
        )
    fragment = "_pref_tokens.html" if tokens is not None else "_pref_ssh_keys.html"
    return render(request, fragment, {"tokens": tokens, "keys": keys, "view": view}, viewer=viewer)


# Settings ---------------------------------------------------------------------------------------


@router.get("")
def preferences_page(
    request: Request, viewer: CurrentViewer, db: DbDep, settings: SettingsDep
) -> HTMLResponse:
    return _page(request, viewer, db, settings)


@router.post("")
def save_preferences(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    settings: SettingsDep,
    language: ShortText = "",
    theme: ShortText = "",
    notify_session_changes: ShortText = "",
    idle_logout: ShortText = "",
    idle_custom: ShortText = "",
) -> Response:
    form = {
        "language": language,
        "theme": theme,
        "notify_session_changes": notify_session_changes,
        "idle_logout": idle_logout,
        "idle_custom": idle_custom,
    }
    return kit.attempt(
        lambda: preferences.save(db, viewer.user, preferences=view.chosen_preferences(form)),
        on_done=lambda user: _saved(request, user, typed_language=language),
        on_refused=lambda exc: _page(
            request,
            viewer,
            db,
            settings,
            settings_form=form,
            errors=kit.errors_of(exc, SETTINGS_FIELDS),
            status_code=status_of(exc),
        ),
    )


def _saved(request: Request, user: User, *, typed_language: str) -> Response:
    """Back to the page, in the language just chosen (remembered in a cookie too)."""
    set_language(user.language or typed_language)
    response = kit.see_other("/preferences?saved=1")
    if user.language:
        cookies.set_preference(request, response, cookies.LANGUAGE_COOKIE, user.language)
    return response


# API tokens -------------------------------------------------------------------------------------


@router.get("/tokens")
def tokens_section(
    request: Request, viewer: CurrentViewer, db: DbDep, settings: SettingsDep
) -> HTMLResponse:
    panel = view.tokens_panel(db, settings, viewer.user)
    return _section(request, viewer, db, settings, tokens=panel)


@router.post("/tokens")
def create_token(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    settings: SettingsDep,
    name: LongText = "",
    expires_in_days: ShortText = "",
) -> HTMLResponse:
    """A new token, its raw value shown in the answer only (a reload shows just the prefix)."""
    form = {"name": name, "expires_in_days": expires_in_days}

    def section(panel: view.TokensPanel, status_code: int) -> HTMLResponse:
        return _section(request, viewer, db, settings, tokens=panel, status_code=status_code)

    return kit.attempt(
        lambda: personal_tokens.create_token(
            db,
            user=viewer.user,
            name=name,
            days=view.token_days(expires_in_days),
            settings=settings,
        ),
        on_done=lambda new: section(view.tokens_panel(db, settings, viewer.user, new=new), 201),
        on_refused=lambda exc: section(
            view.tokens_panel(
                db, settings, viewer.user, form=form, errors=kit.errors_of(exc, form)
            ),
            status_of(exc),
        ),
    )


@router.get("/tokens/{token_id}/revoke")
def revoke_token_dialog(
    request: Request, viewer: CurrentViewer, db: DbDep, token_id: uuid.UUID
) -> HTMLResponse:
    token = personal_tokens.token_of(db, user=viewer.user, token_id=token_id)
    context = {"token": token, "back": "/preferences#tokens"}
    return DIALOGS.show(request, viewer, "_pref_token_revoke.html", context)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, viewer: CurrentViewer, db: DbDep, token_id: uuid.UUID
) -> Response:
    token = personal_tokens.revoke_token(db, user=viewer.user, token_id=token_id)
    message = _("Token %(name)s revoked.") % {"name": token.name}
    return kit.done(request, event=TOKENS_CHANGED, message=message, back="/preferences#tokens")


# SSH keys ---------------------------------------------------------------------------------------


@router.get("/ssh-keys")
def keys_section(
    request: Request, viewer: CurrentViewer, db: DbDep, settings: SettingsDep
) -> HTMLResponse:
    return _section(request, viewer, db, settings, keys=view.keys_panel(db, viewer.user))


@router.post("/ssh-keys")
def add_key(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    settings: SettingsDep,
    public_key: KeyText = "",
    name: LongText = "",
) -> HTMLResponse:
    form = {"name": name, "public_key": public_key}

    def section(panel: view.KeysPanel, status_code: int) -> HTMLResponse:
        return _section(request, viewer, db, settings, keys=panel, status_code=status_code)

    return kit.attempt(
        lambda: ssh_keys.add_key(db, user=viewer.user, public_key=public_key, name=name),
        on_done=lambda key: section(view.keys_panel(db, viewer.user, added=key), 201),
        on_refused=lambda exc: section(
            view.keys_panel(db, viewer.user, form=form, errors=kit.errors_of(exc, form)),
            status_of(exc),
        ),
    )


@router.get("/ssh-keys/{key_id}/delete")
def delete_key_dialog(
    request: Request, viewer: CurrentViewer, db: DbDep, key_id: uuid.UUID
) -> HTMLResponse:
    key = ssh_keys.key_of(db, user=viewer.user, key_id=key_id)
    context = {"key": key, "back": "/preferences#ssh-keys"}
    return DIALOGS.show(request, viewer, "_pref_ssh_key_delete.html", context)


@router.post("/ssh-keys/{key_id}/delete")
def delete_key(request: Request, viewer: CurrentViewer, db: DbDep, key_id: uuid.UUID) -> Response:
    key = ssh_keys.delete_key(db, user=viewer.user, key_id=key_id)
    message = _("Key %(name)s deleted.") % {"name": key.name}
    return kit.done(request, event=KEYS_CHANGED, message=message, back="/preferences#ssh-keys")
