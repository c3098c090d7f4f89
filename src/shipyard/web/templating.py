"""The Jinja environment of the console: autoescape, gettext, icons and asset URLs."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from shipyard import __version__
from shipyard.config import Settings
from shipyard.i18n import LANGUAGES, _, current_language, ngettext

STATIC = Path(__file__).parent / "static"
ICONS = STATIC / "vendor" / "icons"
_SVG_OPEN = re.compile(r"<svg\b[^>]*>", re.S)


@cache
def icon(name: str) -> Markup:
    """An inline Tabler icon, hidden from assistive technology (label the control instead)."""
    svg = (ICONS / f"{name}.svg").read_text(encoding="utf-8")
    opening = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="icon" width="24" height="24" '
        f'viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" '
        f'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false" '
        f'data-icon="{name}">'
    )
    return Markup(_SVG_OPEN.sub(opening, svg, count=1).strip())  # noqa: S704 - our own asset


def static_url(path: str) -> str:
    return f"/static/{path}?v={__version__}"


def make_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("shipyard.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(gettext=_, ngettext=ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        icon=icon,
        static=static_url,
        version=__version__,
        languages=LANGUAGES,
        current_language=current_language,
    )
    return env


def server_switches(request: Request) -> dict[str, Any]:
    """Settings that show or hide features on every page (`totp_available`: the 2FA switch)."""
    settings: Settings = request.app.state.settings
    return {"totp_available": settings.totp_available}


def make_templates() -> Jinja2Templates:
    return Jinja2Templates(env=make_environment(), context_processors=[server_switches])
