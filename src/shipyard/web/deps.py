"""Who is looking at a console page, and what every page needs to know about them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from shipyard.agents import service as agents
from shipyard.announcements import service as announcements
from shipyard.announcements.service import Banner
from shipyard.auth import tokens, totp
from shipyard.errors import PermissionDenied
from shipyard.http.csrf import ANON_CSRF_COOKIE, submitted_csrf
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.http.principal import Principal, resolve_principal
from shipyard.i18n import _
from shipyard.projects import service as projects
from shipyard.projects.models import Project
from shipyard.users.models import User

TWO_FACTOR_PATH = "/account/2fa"


class LoginRequired(Exception):
    """Raised by require_viewer for an anonymous request; answered with a redirect to /login.

    With `target` the redirect goes there instead: an admin whom the server requires to use
    two-factor login (`totp_required_for_admins`) is sent to its setup before anything else.
    """

    def __init__(self, next_path: str, *, target: str | None = None) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.target = target


async def web_principal(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    submitted: Annotated[str | None, Depends(submitted_csrf)],
) -> Principal | None:
    """The logged-in caller, or None; unsafe requests are CSRF-checked either way."""
    return await resolve_principal(request, db, settings, submitted, allow_bearer=False)


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
        query = f"?{request.url.query}" if request.url.query else ""
        raise LoginRequired(request.url.path + query)
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
