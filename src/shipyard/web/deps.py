"""Who is looking at a console page, and what every page needs to know about them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from shipyard.agents import service as agents
from shipyard.announcements import service as announcements
from shipyard.announcements.service import Banner
from shipyard.auth import tokens, totp
from shipyard.config import Settings
from shipyard.errors import PermissionDenied
from shipyard.http.csrf import ANON_CSRF_COOKIE, UNSAFE_METHODS, submitted_csrf
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.http.principal import Principal, cookie_principal, resolve_principal
from shipyard.i18n import _
from shipyard.projects import service as projects
from shipyard.projects.models import Project
from shipyard.users.models import User

TWO_FACTOR_PATH = "/account/2fa"


class LoginRequired(Exception):
    """Raised by require_viewer for an anonymous request; answered with a redirect to /login.

    `next_path` is the page to come back to; `ended` says the request came from a page whose
    web session has ended (htmx, or a form sent), so the login page says "logged out".
    With `target` the redirect goes there instead: an admin whom the server requires to use
    two-factor login (`totp_required_for_admins`) is sent to its setup before anything else.
    """

    def __init__(self, next_path: str, *, ended: bool = False, target: str | None = None) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.ended = ended
        self.target = target


async def web_principal(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    submitted: Annotated[str | None, Depends(submitted_csrf)],
) -> Principal | None:
    """The logged-in caller, or None; unsafe requests are CSRF-checked.

    Not an anonymous one to a route that needs a login: it can change nothing, and its page
    belonged to a web session that has ended, so require_viewer answers "logged out" rather
    than "this form has expired".
    """
    check_anonymous = request.method not in UNSAFE_METHODS or not _needs_login(request)
    return await resolve_principal(
        request, db, settings, submitted, allow_bearer=False, check_anonymous=check_anonymous
    )


def _needs_login(request: Request) -> bool:
    """Whether the route answering `request` depends on require_viewer (a logged-in page)."""
    route = request.scope.get("route")
    return isinstance(route, APIRoute) and require_viewer in _calls(route.dependant)


def _calls(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def page_of(request: Request) -> str:
    """The page the browser shows (path and query): where to come back to after logging in.

    An htmx request names it (HX-Current-URL), a form sent names the page it was on (Referer);
    otherwise the request's own address is the page.
    """
    if request.headers.get("hx-request") == "true":
        return _path_of(request.headers.get("hx-current-url", ""))
    if request.method in UNSAFE_METHODS:
        return _path_of(request.headers.get("referer", ""))
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    if not parts.path:
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class Viewer:
    """A logged-in user with the projects the top bar shows."""

    principal: Principal
    projects: list[Project]
    current_project: Project | None
    notices: tuple[str, ...] = ()  # warnings for admins, shown on every page
    announcement: Banner | None = None  # the banner every page shows

    @property
    def user(self) -> User:
        return self.principal.user

    @property
    def csrf_token(self) -> str:
        return self.principal.csrf_token


async def require_viewer(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    principal: Annotated[Principal | None, Depends(web_principal)],
) -> Viewer:
    if principal is None:
        sent_from_a_page = request.method in UNSAFE_METHODS or request.headers.get("hx-request")
        raise LoginRequired(page_of(request), ended=bool(sent_from_a_page))
    if totp.setup_due(principal.user, settings) and not request.url.path.startswith(
        TWO_FACTOR_PATH
    ):
        raise LoginRequired(request.url.path, target=f"{TWO_FACTOR_PATH}/setup")
    mine, banner = await run_in_threadpool(_page_facts, db, principal.user)
    notices = (
        await run_in_threadpool(agents.enforcement_notices, db) if principal.user.is_admin else []
    )
    return Viewer(
        principal=principal,
        projects=mine,
        current_project=projects.current_project(mine, principal.user),
        notices=tuple(notices),
        announcement=banner,
    )


def _page_facts(db: Session, user: User) -> tuple[list[Project], Banner | None]:
    """What the top bar and the banner need, in one trip to the thread pool."""
    return projects.projects_of(db, user), announcements.banner(db)


async def require_admin_viewer(viewer: Annotated[Viewer, Depends(require_viewer)]) -> Viewer:
    """An administrator looking at an admin page; anyone else gets the 403 page."""
    if not viewer.user.is_admin:
        raise PermissionDenied(_("Only administrators may see this page."))
    return viewer


async def anon_csrf(request: Request) -> str:  # async: no thread hop
    """The anonymous CSRF token (double-submit cookie) this visitor has, or a new one."""
    return request.cookies.get(ANON_CSRF_COOKIE) or tokens.new_secret()


CurrentViewer = Annotated[Viewer, Depends(require_viewer)]
CurrentAdmin = Annotated[Viewer, Depends(require_admin_viewer)]
AnonCsrf = Annotated[str, Depends(anon_csrf)]


def page_viewer(request: Request, db: Session, settings: Settings) -> Viewer | None:
    """The viewer of a page shown outside a route (a 403 or 404 page), or None when nobody is
    logged in: the same top bar and banner as every page (no admin notices)."""
    principal = cookie_principal(request, db, settings)
    if principal is None:
        return None
    mine, banner = _page_facts(db, principal.user)
    current = projects.current_project(mine, principal.user)
    return Viewer(principal=principal, projects=mine, current_project=current, announcement=banner)
