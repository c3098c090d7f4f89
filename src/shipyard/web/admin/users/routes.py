"""The console's administration of users (admins only): the list with its filters in the URL,
creating a user, the edit page, and the dialogs that deactivate, reactivate and reset."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from shipyard.admin import user_access as admin_access
from shipyard.admin import users as users_admin
from shipyard.auth import totp
from shipyard.errors import NotFound, ShipyardError
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.i18n import _
from shipyard.sessions import service as sessions
from shipyard.users import rules as admin_rules
from shipyard.users.admin_schemas import AdminUserCreate, AdminUserPublic, AdminUserUpdate
from shipyard.users.models import Role, User
from shipyard.validation import NO_NUL
from shipyard.web import kit
from shipyard.web.admin.users import view
from shipyard.web.deps import CurrentAdmin, Viewer
from shipyard.web.forms import LongText, ShortText
from shipyard.web.htmx import render, trigger

router = APIRouter(prefix="/admin/users")

SearchText = Annotated[str, Query(max_length=254, pattern=NO_NUL)]
Choice = Annotated[str, Query(max_length=16, pattern=NO_NUL)]
Refs = Annotated[list[Annotated[str, Form(max_length=64, pattern=NO_NUL)]], Form()]


# The list -----------------------------------------------------------------------------------


@router.get("")
def users_page(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    q: SearchText = "",
    role: Choice = "",
    status: Choice = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """Users by email with search, role and status filters; htmx gets only the table."""
    filters = view.Filters.read(q=q, role=role, status=status, page=page)
    found = users_admin.list_users(db, spec=filters.spec())
    context = {
        "filters": filters,
        "users": found.users,
        "total": found.total,
        "pages": view.pages(filters, found.total),
        "role_labels": view.role_labels(),
        "status_labels": view.status_labels(),
    }
    restoring = request.headers.get("hx-history-restore-request") == "true"
    fragment = None if restoring else "admin/_users_table.html"
    return render(request, "admin/users.html", context, viewer=viewer, fragment=fragment)


# Create -------------------------------------------------------------------------------------


def _create_context(db: Session, form: dict[str, Any]) -> dict[str, Any]:
    return {
        "form": form,
        "policies": users_admin.user_policies(db),
        "projects": users_admin.all_projects(db),
        "back": "/admin/users",
    }


NEW_USER: dict[str, Any] = {"email": "", "full_name": "", "role": "user", "resource_policy": ""}


@router.get("/new")
def new_user(request: Request, viewer: CurrentAdmin, db: DbDep) -> HTMLResponse:
    context = {**_create_context(db, {**NEW_USER, "projects": []}), "viewer_role": viewer.user.role}
    return view.DIALOGS.show(request, viewer, "admin/_user_create.html", context)


@router.post("/new")
def create_user(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    settings: SettingsDep,
    email: LongText = "",
    full_name: LongText = "",
    role: ShortText = "user",
    password: LongText = "",
    generate: ShortText = "",
    resource_policy: ShortText = "",
    projects: Refs = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    form = {
        "email": email,
        "full_name": full_name,
        "role": role,
        "generate": bool(generate),
        "password": "",  # never shown again; named so that its error sits by the field
        "resource_policy": resource_policy,
        "projects": projects,
    }

    def create() -> users_admin.Created:
        spec = AdminUserCreate(
            email=email,
            full_name=full_name,
            role=Role(role) if role in Role.__members__.values() else Role.USER,
            password=password or None,
            generate_password=bool(generate),
            resource_policy=resource_policy or None,
            projects=list(projects),
        )
        return users_admin.create_user(db, admin=viewer.user, spec=spec, settings=settings)

    def created(done: users_admin.Created) -> Response:
        context = {
            "user": done.user,
            "generated_password": done.generated_password,
            "back": "/admin/users",
        }
        response = view.DIALOGS.show(request, viewer, "admin/_user_created.html", context)
        return trigger(response, view.USERS_CHANGED)

    return view.DIALOGS.submit(
        request,
        viewer,
        template="admin/_user_create.html",
        context=lambda: {**_create_context(db, form), "viewer_role": viewer.user.role},
        action=create,
        on_done=created,
    )


# The edit page ------------------------------------------------------------------------------


def _edit_context(db: Session, viewer: Viewer, shown: AdminUserPublic) -> dict[str, Any]:
    own = viewer.user.id == shown.id
    superadmin = viewer.user.role is Role.SUPERADMIN
    return {
        "shown": shown,
        "policies": users_admin.user_policies(db),
        "projects": users_admin.all_projects(db),
        "member_roles": {p.id: p.role.value for p in shown.projects},
        "role_labels": view.role_labels(),
        "status_labels": view.status_labels(),
        "role_locked": _("You cannot change your own role.")
        if own
        else ""
        if superadmin
        else _("Only a superadmin may grant, change or take away administrator roles."),
        "may_manage": not own and (superadmin or shown.role is Role.USER),
        "is_self": own,
        "errors": {},
        "notice": "",
    }


@router.get("/{user_id}")
def edit_page(request: Request, viewer: CurrentAdmin, db: DbDep, user_id: uuid.UUID) -> Response:
    """A user's details and the form that edits them; htmx refreshes get the facts card."""
    shown = users_admin.show(db, str(user_id))
    context = _edit_context(db, viewer, shown)
    return render(
        request, "admin/user.html", context, viewer=viewer, fragment="admin/_user_facts.html"
    )


@router.post("/{user_id}")
def save_user(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    user_id: uuid.UUID,
    full_name: LongText = "",
    role: ShortText = "",
    resource_policy: ShortText = "",
    projects: Refs = [],  # noqa: B006 (FastAPI copies defaults)
    owners: Refs = [],  # noqa: B006
) -> Response:
    """Save the form; the form comes back with a notice, or with the error by its field."""

    def save() -> User:
        change = AdminUserUpdate(
            full_name=full_name,
            role=Role(role) if role in Role.__members__.values() else None,
            resource_policy=resource_policy or None,
            projects=view.memberships(projects, owners),
        )
        return users_admin.update_user(db, admin=viewer.user, ref=str(user_id), change=change)

    def saved(user: User) -> Response:
        context = _edit_context(db, viewer, users_admin.present(db, [user])[0])
        context["notice"] = _("Saved.")
        response = _user_form(request, viewer, context)
        return trigger(response, view.USER_CHANGED)

    def refused(exc: ShipyardError) -> Response:
        db.rollback()
        context = _edit_context(db, viewer, users_admin.show(db, str(user_id)))
        context["errors"] = kit.errors_of(exc, EDIT_FIELDS)
        return _user_form(request, viewer, context, status_code=kit.refusal_status(request, exc))

    return kit.attempt(save, on_done=saved, on_refused=refused)


EDIT_FIELDS = ("full_name", "role", "resource_policy", "projects")


def _user_form(
    request: Request, viewer: Viewer, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """The edit page, or for htmx its form (saved, or refused with the error by its field)."""
    return render(
        request,
        "admin/user.html",
        context,
        viewer=viewer,
        fragment="admin/_user_form.html",
        status_code=status_code,
    )


# Dialogs: deactivate, reactivate, reset 2FA, reset password -------------------------------


CONFIRM = "admin/_user_confirm.html"


def _target(db: Session, user_id: uuid.UUID) -> User:
    return admin_rules.user_by_ref(db, str(user_id))


def _confirm_context(db: Session, user: User, action: str) -> dict[str, Any]:
    """What a confirmation shows; deactivating says how many of their sessions end."""
    context = {"user": user, "action": action, "back": view.user_path(user.id)}
    if action == "deactivate":
        context["running"], context["waiting"] = sessions.sessions_to_end(db, user)
    return context


@router.get("/{user_id}/{action}")
def confirm_dialog(
    request: Request, viewer: CurrentAdmin, db: DbDep, user_id: uuid.UUID, action: str
) -> Response:
    """The confirmation of deactivate, activate or reset-2fa; the reset-password form."""
    user = _target(db, user_id)
    if action == "reset-password":
        context = {"user": user, "back": view.user_path(user.id), "form": {"generate": True}}
        return view.DIALOGS.show(request, viewer, "admin/_user_password.html", context)
    if action not in ACTIONS:
        raise NotFound(_("There is nothing at this address."))
    return view.DIALOGS.show(request, viewer, CONFIRM, _confirm_context(db, user, action))


def _deactivate(db: Session, admin: User, user: User) -> str:
    done_ = admin_access.deactivate(db, admin=admin, ref=str(user.id))
    return _("%(email)s is deactivated; %(count)s of their sessions ended.") % {
        "email": user.email,
        "count": done_.sessions_ended,
    }


def _activate(db: Session, admin: User, user: User) -> str:
    admin_access.activate(db, admin=admin, ref=str(user.id))
    return _("%(email)s is active again.") % {"email": user.email}


def _reset_2fa(db: Session, admin: User, user: User) -> str:
    totp.reset(db, str(user.id), by=admin)
    return _("Two-factor login of %(email)s is off.") % {"email": user.email}


ACTIONS = {"deactivate": _deactivate, "activate": _activate, "reset-2fa": _reset_2fa}


@router.post("/{user_id}/reset-password")
def reset_password(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    settings: SettingsDep,
    user_id: uuid.UUID,
    password: LongText = "",
    generate: ShortText = "",
) -> Response:
    user = _target(db, user_id)
    form = {"generate": bool(generate), "password": ""}

    def done(reset: admin_access.PasswordReset) -> Response:
        context = {
            "user": user,
            "generated_password": reset.generated_password,
            "revoked": reset.revoked,
            "back": view.user_path(user.id),
        }
        return view.DIALOGS.show(request, viewer, "admin/_user_password_done.html", context)

    return view.DIALOGS.submit(
        request,
        viewer,
        template="admin/_user_password.html",
        context={"user": user, "back": view.user_path(user.id), "form": form},
        action=lambda: admin_access.reset_password(
            db,
            admin=viewer.user,
            ref=str(user.id),
            password=password or None,
            generate=bool(generate),
            settings=settings,
        ),
        on_done=done,
    )


@router.post("/{user_id}/{action}")
def confirm(
    request: Request, viewer: CurrentAdmin, db: DbDep, user_id: uuid.UUID, action: str
) -> Response:
    user = _target(db, user_id)
    act = ACTIONS.get(action)
    if act is None:
        raise NotFound(_("There is nothing at this address."))
    return view.DIALOGS.submit(
        request,
        viewer,
        template=CONFIRM,
        context=lambda: _confirm_context(db, user, action),
        action=lambda: act(db, viewer.user, user),
        on_done=lambda message: kit.done(
            request, event=view.USER_CHANGED, message=message, back=view.user_path(user.id)
        ),
    )
