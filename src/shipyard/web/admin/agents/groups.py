"""The console's administration of resource groups (admins only): list, create, edit, projects.

The allow-list is a textarea, one entry per line; groups_admin checks and tidies the entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from shipyard.admin import groups
from shipyard.agents.admin_schemas import MAX_ALLOW, GroupCreate, GroupUpdate
from shipyard.agents.models import DEFAULT_GROUP, ResourceGroup
from shipyard.errors import InvalidInput
from shipyard.http.deps import DbDep
from shipyard.i18n import _
from shipyard.validation import NO_NUL
from shipyard.web.admin.agents import view
from shipyard.web.deps import CurrentAdmin
from shipyard.web.htmx import render

router = APIRouter(prefix="/admin/resource-groups")

GroupName = Annotated[str, Path(max_length=64, pattern=NO_NUL)]
Text = Annotated[str, Form(max_length=1024, pattern=NO_NUL)]
Lines = Annotated[str, Form(max_length=8192, pattern=NO_NUL)]
BACK = "/admin/resource-groups"
S = TypeVar("S", bound=BaseModel)


def network_labels() -> dict[str, str]:
    """The choices of the form's Network select, the default first."""
    return {
        "outbound": _("Outbound (internet, no host or private ranges)"),
        "none": _("None (loopback only)"),
    }


def network_short() -> dict[str, str]:
    """The network mode in the groups list."""
    return {"outbound": _("Outbound"), "none": _("Loopback only")}


def _entries(text: str) -> list[str]:
    """The allow-list textarea's entries: one a line, blank lines ignored."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _invalid(exc: ValidationError) -> InvalidInput:
    """The first problem of a form, by the field it is about."""
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else "form"
    messages = {
        "name": _(
            "A name has 1 to 64 letters, digits, dots, dashes or underscores, and starts "
            "with a letter or digit."
        ),
        "description": _("The description is too long (at most 1000 characters)."),
        "placement": _("Choose bin-pack or spread."),
        "network_mode": _("Choose outbound or none."),
        "network_allow": _("Enter at most %(n)d entries, one per line.") % {"n": MAX_ALLOW},
    }
    return InvalidInput(messages.get(field, _("Check this field.")), details={"field": field})


def _valid(schema: type[S], **fields: Any) -> S:
    """The form as the service takes it, or an InvalidInput naming the first wrong field."""
    try:
        return schema(**fields)
    except ValidationError as exc:
        raise _invalid(exc) from exc


@dataclass(frozen=True)
class GroupForm:
    """The group form as typed, but its name (a field to create, the address to edit)."""

    description: str
    placement: str
    is_active: bool
    network_mode: str
    network_allow: str

    def shown(self, name: str) -> dict[str, str]:
        """The fields as typed, to show the form again."""
        return {
            "name": name,
            "description": self.description,
            "placement": self.placement,
            "is_active": "true" if self.is_active else "",
            "network_mode": self.network_mode,
            "network_allow": self.network_allow,
        }

    def fields(self) -> dict[str, Any]:
        """The schema's fields (GroupCreate without its name, GroupUpdate)."""
        return {
            "description": self.description,
            "placement": self.placement,
            "is_active": self.is_active,
            "network_mode": self.network_mode,
            "network_allow": _entries(self.network_allow),
        }


def group_form(
    description: Text = "",
    placement: Text = "binpack",
    is_active: Annotated[bool, Form()] = False,
    network_mode: Text = "outbound",
    network_allow: Lines = "",
) -> GroupForm:
    return GroupForm(description, placement, is_active, network_mode, network_allow)


GroupFormDep = Annotated[GroupForm, Depends(group_form)]


@router.get("")
def groups_page(request: Request, viewer: CurrentAdmin, db: DbDep) -> HTMLResponse:
    context = {"groups": groups.list_groups(db), "network_short": network_short(), **view.looks()}
    return render(
        request, "admin/groups.html", context, viewer=viewer, fragment="admin/_groups.html"
    )


# Create ----------------------------------------------------------------------------------------

NEW = {
    "name": "",
    "description": "",
    "placement": "binpack",
    "is_active": "true",
    "network_mode": "outbound",
    "network_allow": "",
}


def _form_context(form: dict[str, str], *, editing: bool) -> dict[str, Any]:
    return {
        "form": form,
        "back": BACK,
        "editing": editing,
        "network_labels": network_labels(),
        "max_allow": MAX_ALLOW,
    }


@router.get("/new")
def new_group(request: Request, viewer: CurrentAdmin) -> Response:
    context = _form_context(NEW, editing=False)
    return view.DIALOGS.show(request, viewer, "admin/_group_form.html", context)


@router.post("/new")
def create_group(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    form: GroupFormDep,
    name: Text = "",
) -> Response:
    def create() -> ResourceGroup:
        spec = _valid(GroupCreate, name=name.strip(), **form.fields())
        return groups.create_group(db, actor=viewer.user, spec=spec)

    return view.DIALOGS.submit(
        request,
        viewer,
        template="admin/_group_form.html",
        context=_form_context(form.shown(name), editing=False),
        action=create,
        on_done=lambda group: view.done(
            request,
            message=_("Resource group %(name)s created.") % {"name": group.name},
            back=BACK,
        ),
    )


# Edit ------------------------------------------------------------------------------------------


def _edit_context(db: Session, name: str, form: dict[str, str] | None = None) -> dict[str, Any]:
    group = groups.get_group(db, name)
    shown = form or {
        "name": group.name,
        "description": group.description,
        "placement": group.placement.value,
        "is_active": "true" if group.is_active else "",
        "network_mode": group.network_mode.value,
        "network_allow": "\n".join(group.network_allow),
    }
    return {**_form_context(shown, editing=True), "group": group, "default": DEFAULT_GROUP}


@router.get("/{name}/edit")
def edit_dialog(request: Request, viewer: CurrentAdmin, db: DbDep, name: GroupName) -> Response:
    return view.DIALOGS.show(request, viewer, "admin/_group_form.html", _edit_context(db, name))


@router.post("/{name}/edit")
def edit(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    name: GroupName,
    form: GroupFormDep,
) -> Response:
    def save() -> ResourceGroup:
        change = _valid(GroupUpdate, **form.fields())
        return groups.update_group(db, actor=viewer.user, name=name, change=change)

    return view.DIALOGS.submit(
        request,
        viewer,
        template="admin/_group_form.html",
        context=lambda: _edit_context(db, name, form.shown(name)),
        action=save,
        on_done=lambda _group: view.done(
            request, message=_("Resource group %(name)s saved.") % {"name": name}, back=BACK
        ),
    )


# Allowed projects ------------------------------------------------------------------------------


def _projects_context(db: Session, name: str, chosen: set[str] | None = None) -> dict[str, Any]:
    group = groups.get_group(db, name)
    return {
        "group": group,
        "projects": groups.project_choices(db),
        "chosen": set(group.projects) if chosen is None else chosen,
        "form": {"projects": ""},
        "back": BACK,
    }


@router.get("/{name}/projects")
def projects_dialog(request: Request, viewer: CurrentAdmin, db: DbDep, name: GroupName) -> Response:
    context = _projects_context(db, name)
    return view.DIALOGS.show(request, viewer, "admin/_group_projects.html", context)


@router.post("/{name}/projects")
def set_projects(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    name: GroupName,
    projects: Annotated[list[str] | None, Form(max_length=10000)] = None,
) -> Response:
    chosen = [project[:64] for project in projects or []]
    return view.DIALOGS.submit(
        request,
        viewer,
        template="admin/_group_projects.html",
        context=lambda: _projects_context(db, name, set(chosen)),
        action=lambda: groups.set_projects(db, actor=viewer.user, name=name, projects=chosen),
        on_done=lambda _group: view.done(
            request, message=_("Projects of %(name)s saved.") % {"name": name}, back=BACK
        ),
    )
