"""The console's administration of resource policies (admins only).

Plain forms, as on the project pages: success redirects back with a `done` key; a refusal
shows the form again with every wrong field marked. An empty limit means unlimited.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from shipyard.admin import policies
from shipyard.errors import InvalidInput, NotFound, ShipyardError
from shipyard.http.deps import DbDep
from shipyard.http.errors import status_of
from shipyard.i18n import _
from shipyard.policies import fields
from shipyard.policies.models import OnQuota, PolicyKind, ResourcePolicy
from shipyard.resources.slots import SLOT_KINDS
from shipyard.web import kit
from shipyard.web.deps import CurrentAdmin, Viewer
from shipyard.web.htmx import render

router = APIRouter(prefix="/admin/policies")

SLOT_PREFIX = "slots."
LIMIT_FIELDS = tuple(policies.READERS)


async def form_values(request: Request) -> dict[str, str]:
    """The submitted text fields (no files); a field over 1024 characters is refused."""
    if request.method != "POST":
        return {}
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    if any(len(value) > 1024 or "\x00" in value for value in values.values()):
        raise InvalidInput(_("The form is not valid."))
    return values


FormValues = Annotated[dict[str, str], Depends(form_values)]


def done_messages() -> dict[str, str]:
    return {
        "created": _("Policy created."),
        "saved": _("Changes saved. They apply to the next session request."),
        "default": _("Default policy changed."),
        "deleted": _("Policy deleted."),
    }


def field_labels() -> dict[str, str]:
    return {
        "max_concurrent_sessions": _("Concurrent sessions"),
        "max_pending_sessions": _("Pending sessions"),
        "max_session_lifetime": _("Session lifetime"),
        "idle_timeout": _("Idle timeout"),
        "max_folder_count": _("Folders"),
        "max_folder_size": _("Folder size"),
        "max_session_scratch": _("Session scratch space"),
        "max_log_size": _("Kept output"),
    }


def field_hints() -> dict[str, str]:
    return {
        "max_concurrent_sessions": _("Sessions holding resources at once."),
        "max_pending_sessions": _("Requests waiting to be scheduled."),
        "max_session_lifetime": _("For example 8h or 2d; the session ends then."),
        "idle_timeout": _("For example 30m (minutes); an idle session ends then."),
        "max_folder_count": _("Folders it may own."),
        "max_folder_size": _("Per folder, for example 500m (MiB), 100g (GiB) or 2t (TiB)."),
        "max_session_scratch": _(
            "Each session's in-memory /tmp, for example 2g; empty: the site default."
        ),
        "max_log_size": _(
            "The last part of each session's output kept after it ends, for example 16m; "
            "empty: the site default."
        ),
    }


def field_placeholders() -> dict[str, str]:
    """What an empty limit field means, where it is not unlimited."""
    return {"max_session_scratch": _("Site default"), "max_log_size": _("Site default")}


def slot_hints() -> dict[str, str]:
    return {
        "cores": _("Cores, for example 8 or 0.5."),
        "bytes": _("For example 512m (MiB), 32g (GiB) or 1t (TiB)."),
        "devices": _("Whole devices, for example 2."),
    }


def fields_of(kind: PolicyKind) -> tuple[str, ...]:
    if kind is PolicyKind.USER:
        return LIMIT_FIELDS
    return tuple(key for key in LIMIT_FIELDS if key not in policies.USER_ONLY)


def form_of(policy: ResourcePolicy) -> dict[str, str]:
    """What the form shows for a stored policy (empty: unlimited)."""
    limits = policy.limits
    form = {"name": policy.name, "on_quota": policy.on_quota.value}
    form.update({SLOT_PREFIX + slot: fields.show_slot(slot, limits[slot]) for slot in SLOT_KINDS})
    for key in ("max_concurrent_sessions", "max_pending_sessions", "max_folder_count"):
        value = getattr(policy, key)
        form[key] = "" if value is None else str(value)
    form["max_session_lifetime"] = fields.show_duration(policy.max_session_lifetime)
    form["idle_timeout"] = fields.show_duration(policy.idle_timeout)
    form["max_folder_size"] = fields.show_size(policy.max_folder_size)
    form["max_session_scratch"] = fields.show_size(policy.max_session_scratch)
    form["max_log_size"] = fields.show_size(policy.max_log_size)
    return form


def raw_of(kind: PolicyKind, form: dict[str, str]) -> dict[str, Any]:
    """The service's input from the submitted form: the kind's fields, slots by name."""
    raw: dict[str, Any] = {"name": form.get("name", "")}
    raw["slots"] = {slot: form.get(SLOT_PREFIX + slot, "") for slot in SLOT_KINDS}
    raw.update({key: form.get(key, "") for key in fields_of(kind)})
    if kind is PolicyKind.USER and form.get("on_quota") in {q.value for q in OnQuota}:
        raw["on_quota"] = form["on_quota"]
    return raw


def _kind(text: str) -> PolicyKind:
    return PolicyKind.PROJECT if text == PolicyKind.PROJECT.value else PolicyKind.USER


def _policy(db: Session, policy_id: str) -> ResourcePolicy:
    try:
        return policies.get_policy(db, uuid.UUID(policy_id))
    except ValueError as exc:
        raise NotFound(_("No such resource policy.")) from exc


# The list -----------------------------------------------------------------------------------


@router.get("")
def policy_list(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    done: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """User and project policies, each with its limits and how many use it."""
    rows = policies.list_policies(db)
    context = {
        "sections": [
            (kind, [row for row in rows if row.policy.kind is kind]) for kind in PolicyKind
        ],
        "slot_kinds": SLOT_KINDS,
        "display": fields.display_slot,
        "display_duration": fields.display_duration,
        "display_folders": fields.display_folders,
        "notice": done_messages().get(done, ""),
    }
    return render(request, "admin/policies.html", context, viewer=viewer)


# The form: create and edit ------------------------------------------------------------------


def _form_page(
    request: Request,
    viewer: Viewer,
    *,
    kind: PolicyKind,
    form: dict[str, str],
    policy: ResourcePolicy | None = None,
    row: policies.PolicyRow | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "kind": kind,
        "policy": policy,
        "row": row,
        "form": form,
        "errors": errors or {},
        "slot_kinds": SLOT_KINDS,
        "slot_hints": slot_hints(),
        "limit_fields": fields_of(kind),
        "labels": field_labels(),
        "hints": field_hints(),
        "placeholders": field_placeholders(),
        "name_rule": fields.name_rule(),
        "notice": notice,
    }
    return render(
        request, "admin/policies_form.html", context, viewer=viewer, status_code=status_code
    )


def _known(kind: PolicyKind) -> set[str]:
    return {"name", "on_quota", *fields_of(kind), *(SLOT_PREFIX + slot for slot in SLOT_KINDS)}


@router.get("/new")
def new_policy(
    request: Request,
    viewer: CurrentAdmin,
    kind: Annotated[str, Query(max_length=16)] = "user",
) -> HTMLResponse:
    chosen = _kind(kind)
    form = {"name": "", "on_quota": OnQuota.REFUSE.value}
    return _form_page(request, viewer, kind=chosen, form=form)


@router.post("/new")
def create_policy(request: Request, viewer: CurrentAdmin, db: DbDep, form: FormValues) -> Response:
    kind = _kind(form.get("kind", ""))
    return kit.attempt(
        lambda: policies.create_policy(db, admin=viewer.user, kind=kind, raw=raw_of(kind, form)),
        on_done=lambda _result: kit.see_other("/admin/policies?done=created"),
        on_refused=lambda exc: _form_page(
            request,
            viewer,
            kind=kind,
            form=form,
            errors=kit.errors_of(exc, _known(kind)),
            status_code=status_of(exc),
        ),
    )


@router.get("/{policy_id}")
def policy_page(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    policy_id: str,
) -> HTMLResponse:
    policy = _policy(db, policy_id)
    row = policies.usage_of(db, policy)
    return _form_page(
        request, viewer, kind=policy.kind, form=form_of(policy), policy=policy, row=row
    )


@router.post("/{policy_id}")
def save_policy(
    request: Request, viewer: CurrentAdmin, db: DbDep, policy_id: str, form: FormValues
) -> Response:
    policy = _policy(db, policy_id)

    def refused(exc: ShipyardError) -> Response:
        db.rollback()
        return _form_page(
            request,
            viewer,
            kind=policy.kind,
            form=form,
            policy=policy,
            row=policies.usage_of(db, policy),
            errors=kit.errors_of(exc, _known(policy.kind)),
            status_code=status_of(exc),
        )

    return kit.attempt(
        lambda: policies.update_policy(
            db, admin=viewer.user, policy_id=policy.id, raw=raw_of(policy.kind, form)
        ),
        on_done=lambda _result: kit.see_other("/admin/policies?done=saved"),
        on_refused=refused,
    )


@router.post("/{policy_id}/default")
def make_default(request: Request, viewer: CurrentAdmin, db: DbDep, policy_id: str) -> Response:
    policy = _policy(db, policy_id)
    policies.set_default(db, admin=viewer.user, policy_id=policy.id)
    return kit.see_other("/admin/policies?done=default")


# Delete -------------------------------------------------------------------------------------


def _delete_page(
    request: Request,
    viewer: Viewer,
    row: policies.PolicyRow,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    context = {"row": row, "policy": row.policy, "error": error}
    return render(
        request, "admin/policies_delete.html", context, viewer=viewer, status_code=status_code
    )


@router.get("/{policy_id}/delete")
def delete_page(request: Request, viewer: CurrentAdmin, db: DbDep, policy_id: str) -> Response:
    policy = _policy(db, policy_id)
    return _delete_page(request, viewer, policies.usage_of(db, policy))


@router.post("/{policy_id}/delete")
def delete_policy(request: Request, viewer: CurrentAdmin, db: DbDep, policy_id: str) -> Response:
    policy = _policy(db, policy_id)

    def refused(exc: ShipyardError) -> Response:
        db.rollback()
        row = policies.usage_of(db, policy)
        return _delete_page(request, viewer, row, error=exc.message, status_code=status_of(exc))

    return kit.attempt(
        lambda: policies.delete_policy(db, admin=viewer.user, policy_id=policy.id),
        on_done=lambda _result: kit.see_other("/admin/policies?done=deleted"),
        on_refused=refused,
    )
