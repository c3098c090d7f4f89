"""The console's administration of environments (admins only): list, add, enable, disable,
rescan."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from shipyard.environments import service as environments
from shipyard.environments.models import Environment
from shipyard.errors import InvalidInput
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.i18n import _
from shipyard.validation import NO_NUL
from shipyard.web.admin.agents import view
from shipyard.web.deps import CurrentAdmin
from shipyard.web.htmx import is_htmx, render, trigger

router = APIRouter(prefix="/admin/environments")

EnvName = Annotated[str, Path(max_length=64, pattern=NO_NUL)]
Text = Annotated[str, Form(max_length=1024, pattern=NO_NUL)]
BACK = "/admin/environments"
ENV_NAME_RULE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def source_labels() -> dict[str, str]:
    return {"builtin": _("built-in"), "admin": _("added by an admin"), "scan": _("found by rescan")}


@router.get("")
def environments_page(request: Request, viewer: CurrentAdmin, db: DbDep) -> HTMLResponse:
    context = {"environments": environments.list_all(db), "sources": source_labels()}
    return render(
        request,
        "admin/environments.html",
        context,
        viewer=viewer,
        fragment="admin/_environments.html",
    )


# Add -------------------------------------------------------------------------------------------

NEW = {"name": "", "description": "", "interpreter": ""}


@router.get("/new")
def new_environment(request: Request, viewer: CurrentAdmin) -> Response:
    context = {"form": NEW, "back": BACK}
    return view.DIALOGS.show(request, viewer, "admin/_environment_create.html", context)


def _checked_name(name: str) -> str:
    if not re.match(ENV_NAME_RULE, name):
        raise InvalidInput(
            _("A name starts with a letter or digit, then up to 63 letters, digits, . _ or -."),
            details={"field": "name"},
        )
    return name


@router.post("/new")
def add_environment(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    name: Text = "",
    description: Text = "",
    interpreter: Text = "",
) -> Response:
    form = {"name": name, "description": description, "interpreter": interpreter}
    return view.DIALOGS.submit(
        request,
        viewer,
        template="admin/_environment_create.html",
        context={"form": form, "back": BACK},
        action=lambda: environments.register(
            db,
            name=_checked_name(name.strip()),
            description=description.strip(),
            interpreter=interpreter.strip(),
            actor=viewer.user,
        ),
        on_done=lambda env: view.done(
            request, message=_("Environment %(name)s added.") % {"name": env.name}, back=BACK
        ),
    )


# Enable / disable ------------------------------------------------------------------------------


def _state_context(db: Session, name: str, enabled: bool) -> dict[str, Any]:
    return {"env": environments.by_name(db, name), "enabled": enabled, "form": {}, "back": BACK}


@router.get("/{name}/enabled")
def enabled_dialog(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    name: EnvName,
    value: Annotated[bool, Query()] = False,
) -> Response:
    context = _state_context(db, name, value)
    return view.DIALOGS.show(request, viewer, "admin/_environment_state.html", context)


@router.post("/{name}/enabled")
def set_enabled(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    name: EnvName,
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    def done(env: Environment) -> Response:
        message = (
            _("Environment %(name)s is offered to new sessions.")
            if env.enabled
            else _("Environment %(name)s is disabled: new sessions cannot use it.")
        ) % {"name": env.name}
        return view.done(request, message=message, back=BACK)

    return view.DIALOGS.submit(
        request,
        viewer,
        template="admin/_environment_state.html",
        context=lambda: _state_context(db, name, enabled),
        action=lambda: environments.set_enabled(db, actor=viewer.user, name=name, enabled=enabled),
        on_done=done,
    )


# Rescan ----------------------------------------------------------------------------------------


@router.get("/rescan")
def rescan_dialog(request: Request, viewer: CurrentAdmin, settings: SettingsDep) -> Response:
    context = {"directories": settings.environment_dirs, "report": None, "back": BACK}
    return view.DIALOGS.show(request, viewer, "admin/_environment_rescan.html", context)


@router.post("/rescan")
def rescan(request: Request, viewer: CurrentAdmin, db: DbDep, settings: SettingsDep) -> Response:
    """Rescan now and show what was found (the Maintenance page can run it in the background)."""
    report = environments.rescan(db, settings.environment_dirs, actor=viewer.user)
    context = {"directories": settings.environment_dirs, "report": report, "back": BACK}
    response = view.DIALOGS.show(request, viewer, "admin/_environment_rescan.html", context)
    return trigger(response, view.ADMIN_CHANGED, {}) if is_htmx(request) else response
