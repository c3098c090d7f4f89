"""The console's administration of projects (admins only): list, create, settings, members.

Plain forms: success redirects (303) back with a `done` key the page turns into a message;
a refusal shows the page again with the fields as typed and the error next to its field.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from shipyard.admin import project_members as members
from shipyard.admin import projects
from shipyard.errors import NotFound, ShipyardError
from shipyard.http.deps import DbDep
from shipyard.http.errors import status_of
from shipyard.i18n import _
from shipyard.policies import fields
from shipyard.projects.admin_schemas import ProjectCreate
from shipyard.projects.models import DEFAULT_PROJECT, MemberRole, Project
from shipyard.resources.slots import SLOT_KINDS, humanize
from shipyard.web import kit
from shipyard.web.deps import CurrentAdmin, Viewer
from shipyard.web.forms import LongText, ShortText
from shipyard.web.htmx import render

router = APIRouter(prefix="/admin/projects")

EmailText = Annotated[str, Form(max_length=254, pattern=r"^[^\x00]*$")]
GroupNames = Annotated[list[Annotated[str, Form(max_length=64)]] | None, Form()]
PageQuery = Annotated[int, Query(ge=1, le=1_000_000)]


def done_messages() -> dict[str, str]:
    return {
        "created": _("Project created."),
        "saved": _("Changes saved."),
        "member-added": _("Member added."),
        "role-changed": _("Role changed."),
        "member-removed": _("Member removed."),
    }


def role_labels() -> dict[str, str]:
    return {MemberRole.OWNER.value: _("Owner"), MemberRole.MEMBER.value: _("Member")}


def usage_text(row: projects.ProjectRow) -> str:
    """What the project's sessions hold now, e.g. "2 CPU · 4 GiB Memory", or "—"."""
    held = row.held.slots
    parts = [
        f"{humanize(slot, held[slot])} {SLOT_KINDS[slot].label}"
        for slot in SLOT_KINDS
        if slot in held
    ]
    return " · ".join(parts) or "—"


def _project(db: Session, project_id: str) -> Project:
    try:
        project = db.get(Project, uuid.UUID(project_id))
    except ValueError:
        project = None
    if project is None:
        raise NotFound(_("No such project."))
    return project


# The list -----------------------------------------------------------------------------------


@router.get("")
def project_list(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    q: Annotated[str, Query(max_length=64)] = "",
    page: PageQuery = 1,
    done: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """Projects with members, policy, groups and current usage; searchable, in pages."""
    found = projects.list_projects(db, search=q.replace("\x00", ""), page=page)
    context = {
        "found": found,
        "q": q,
        "usage_text": usage_text,
        "notice": done_messages().get(done, ""),
    }
    return render(request, "admin/projects.html", context, viewer=viewer)


# Create -------------------------------------------------------------------------------------

NEW_PROJECT = {"name": "", "description": ""}


def _new_page(
    request: Request, viewer: Viewer, form: dict[str, str], errors: dict[str, str], status: int
) -> HTMLResponse:
    context = {"form": form, "errors": errors, "name_rule": fields.name_rule()}
    return render(request, "admin/projects_new.html", context, viewer=viewer, status_code=status)


@router.get("/new")
def new_project(request: Request, viewer: CurrentAdmin) -> HTMLResponse:
    return _new_page(request, viewer, NEW_PROJECT, {}, 200)


@router.post("/new")
def create_project(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    name: ShortText = "",
    description: LongText = "",
) -> Response:
    form = {"name": name, "description": description}
    return kit.attempt(
        lambda: projects.create_project(
            db, admin=viewer.user, spec=ProjectCreate(name=name, description=description)
        ),
        on_done=lambda project: kit.see_other(f"/admin/projects/{project.id}?done=created"),
        on_refused=lambda exc: _new_page(
            request, viewer, form, kit.errors_of(exc, form), status_of(exc)
        ),
    )


# One project: settings and members ----------------------------------------------------------

SETTINGS_FIELDS = {"name", "description", "is_active", "resource_policy", "resource_groups"}
MEMBER_FIELDS = {"email", "role"}


def _detail(
    request: Request,
    viewer: Viewer,
    db: Session,
    project: Project,
    *,
    page: int = 1,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    member_form: dict[str, str] | None = None,
    member_errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    db.rollback()  # a refused change leaves nothing behind; show what is stored
    row = projects.row_of(db, project)
    current = {
        "name": project.name,
        "description": project.description,
        "is_active": project.is_active,
        "resource_policy": str(project.resource_policy_id) if row.own_policy else "",
        "resource_groups": row.groups,
    }
    context = {
        "row": row,
        "project": project,
        "is_default_project": project.name == DEFAULT_PROJECT,
        "form": form or current,
        "errors": errors or {},
        "member_form": member_form or {"email": "", "role": MemberRole.MEMBER.value},
        "member_errors": member_errors or {},
        "members": members.members_of(db, project, page=page),
        "policies": projects.project_policies(db),
        "groups": projects.active_groups(db),
        "roles": role_labels(),
        "usage_text": usage_text,
        "name_rule": fields.name_rule(),
        "notice": notice,
    }
    return render(
        request, "admin/projects_detail.html", context, viewer=viewer, status_code=status_code
    )


@router.get("/{project_id}")
def project_page(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    project_id: str,
    page: PageQuery = 1,
    done: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    project = _project(db, project_id)
    notice = done_messages().get(done, "")
    return _detail(request, viewer, db, project, page=page, notice=notice)


@router.post("/{project_id}")
def save_project(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    project_id: str,
    name: ShortText = "",
    description: LongText = "",
    is_active: ShortText = "",
    resource_policy: ShortText = "",
    resource_groups: GroupNames = None,
) -> Response:
    """Save the settings form; deactivating cancels pending sessions (running ones stay)."""
    project = _project(db, project_id)
    form = {
        "name": name,
        "description": description,
        "is_active": bool(is_active),
        "resource_policy": resource_policy,
        "resource_groups": resource_groups or [],
    }
    return kit.attempt(
        lambda: projects.update_project(db, admin=viewer.user, project=project, changes=form),
        on_done=lambda _result: kit.see_other(f"/admin/projects/{project.id}?done=saved"),
        on_refused=lambda exc: _detail(
            request,
            viewer,
            db,
            project,
            form=form,
            errors=kit.errors_of(exc, SETTINGS_FIELDS),
            status_code=status_of(exc),
        ),
    )


@router.post("/{project_id}/members")
def add_member(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    project_id: str,
    email: EmailText = "",
    role: ShortText = MemberRole.MEMBER.value,
) -> Response:
    project = _project(db, project_id)
    member_form = {"email": email, "role": role}
    chosen = MemberRole(role) if role in role_labels() else MemberRole.MEMBER
    return kit.attempt(
        lambda: members.add_member(
            db, admin=viewer.user, project=project, email=email, role=chosen
        ),
        on_done=lambda _result: kit.see_other(f"/admin/projects/{project.id}?done=member-added"),
        on_refused=lambda exc: _detail(
            request,
            viewer,
            db,
            project,
            member_form=member_form,
            member_errors=kit.errors_of(exc, MEMBER_FIELDS),
            status_code=status_of(exc),
        ),
    )


@router.post("/{project_id}/members/{user_id}/role")
def change_role(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    project_id: str,
    user_id: str,
    role: ShortText = "",
) -> Response:
    project = _project(db, project_id)

    def change() -> members.Member:
        if role not in role_labels():
            raise NotFound(_("Choose owner or member."))
        return members.change_role(
            db, admin=viewer.user, project=project, user_ref=user_id, role=MemberRole(role)
        )

    return kit.attempt(
        change,
        on_done=lambda _result: kit.see_other(f"/admin/projects/{project.id}?done=role-changed"),
        on_refused=lambda exc: _member_refused(request, viewer, db, project, exc),
    )


@router.post("/{project_id}/members/{user_id}/remove")
def remove_member(
    request: Request, viewer: CurrentAdmin, db: DbDep, project_id: str, user_id: str
) -> Response:
    project = _project(db, project_id)
    return kit.attempt(
        lambda: members.remove_member(db, admin=viewer.user, project=project, user_ref=user_id),
        on_done=lambda _result: kit.see_other(f"/admin/projects/{project.id}?done=member-removed"),
        on_refused=lambda exc: _member_refused(request, viewer, db, project, exc),
    )


def _member_refused(
    request: Request, viewer: Viewer, db: Session, project: Project, exc: ShipyardError
) -> HTMLResponse:
    """The page again with the refusal above the members list."""
    errors = {"form": exc.message}
    return _detail(request, viewer, db, project, member_errors=errors, status_code=status_of(exc))
