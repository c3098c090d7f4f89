"""Administration of resource policies: create, change, delete, choose the default of a kind.

Quota checks read a user's and a project's policy on every request and scheduling round,
so a change here applies to the next session request; sessions already running keep going.
Every change records an audit entry in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shipyard.audit import service as audit
from shipyard.audit.models import Action
from shipyard.errors import Conflict, InvalidInput, NotFound
from shipyard.i18n import _
from shipyard.policies import fields
from shipyard.policies import service as policies
from shipyard.policies.models import OnQuota, PolicyKind, ResourcePolicy
from shipyard.policies.schemas import PolicyPublic
from shipyard.projects.models import Project
from shipyard.resources.slots import SLOT_KINDS, Limits, amount_text
from shipyard.users.models import User

Reader = Callable[[str, object], Any]
READERS: dict[str, Reader] = {
    "max_concurrent_sessions": fields.count,
    "max_pending_sessions": fields.count,
    "max_session_lifetime": fields.duration,
    "idle_timeout": fields.duration,
    "max_folder_count": fields.count,
    "max_folder_size": fields.size,
    "max_session_scratch": fields.scratch,
    "max_log_size": fields.log_size,
}
USER_ONLY = frozenset(
    {
        "max_concurrent_sessions",
        "max_pending_sessions",
        "max_session_lifetime",
        "idle_timeout",
        "max_folder_size",
        "max_session_scratch",
        "max_log_size",
        "on_quota",
    }
)


@dataclass(frozen=True)
class PolicyRow:
    """A policy and how many users and projects work under it."""

    policy: ResourcePolicy
    users: int
    projects: int


def kind_label(kind: PolicyKind) -> str:
    return _("user policy") if kind is PolicyKind.USER else _("project policy")


# Reading ------------------------------------------------------------------------------------


def list_policies(db: Session, *, kind: PolicyKind | None = None) -> list[PolicyRow]:
    """Every policy (or those of one kind), defaults first, with their use; four statements."""
    defaults = {k: policies.default_policy(db, k) for k in PolicyKind}
    query = select(ResourcePolicy).order_by(
        ResourcePolicy.kind, ResourcePolicy.is_default.desc(), ResourcePolicy.name
    )
    if kind is not None:
        query = query.where(ResourcePolicy.kind == kind)
    users = _use(db, User, defaults[PolicyKind.USER])
    projects = _use(db, Project, defaults[PolicyKind.PROJECT])
    return [
        PolicyRow(policy=p, users=users.get(p.id, 0), projects=projects.get(p.id, 0))
        for p in db.scalars(query)
    ]


def _use(db: Session, model: type[User] | type[Project], default: ResourcePolicy) -> dict[Any, int]:
    """How many rows of `model` each policy governs; rows without one count for the default."""
    rows = db.execute(
        select(model.resource_policy_id, func.count()).group_by(model.resource_policy_id)
    )
    counts: dict[Any, int] = {row[0]: row[1] for row in rows}
    counts[default.id] = counts.get(default.id, 0) + counts.pop(None, 0)
    return counts


def get_policy(db: Session, policy_id: uuid.UUID) -> ResourcePolicy:
    policy = db.get(ResourcePolicy, policy_id)
    if policy is None:
        raise NotFound(_("No such resource policy."))
    return policy


def find_policy(db: Session, ref: str, *, kind: PolicyKind | None = None) -> ResourcePolicy:
    """A policy by id or by name (names are unique per kind: give `kind` when both have it)."""
    try:
        return get_policy(db, uuid.UUID(ref))
    except ValueError:
        pass
    query = select(ResourcePolicy).where(ResourcePolicy.name == ref)
    if kind is not None:
        query = query.where(ResourcePolicy.kind == kind)
    found = list(db.scalars(query))
    if not found:
        raise NotFound(_("No such resource policy: %(name)s.") % {"name": ref})
    if len(found) > 1:
        raise InvalidInput(
            _("A user policy and a project policy are both called %(name)s: say which kind.")
            % {"name": ref},
            details={"field": "kind"},
        )
    return found[0]


def usage_of(db: Session, policy: ResourcePolicy) -> PolicyRow:
    rows = {row.policy.id: row for row in list_policies(db, kind=policy.kind)}
    return rows[policy.id]


def present(row: PolicyRow) -> PolicyPublic:
    policy = row.policy
    limits = policy.limits
    return PolicyPublic(
        id=policy.id,
        name=policy.name,
        kind=policy.kind,
        is_default=policy.is_default,
        slots={slot: amount_text(limits[slot]) for slot in SLOT_KINDS},
        max_concurrent_sessions=policy.max_concurrent_sessions,
        max_pending_sessions=policy.max_pending_sessions,
        max_session_lifetime=policy.max_session_lifetime,
        idle_timeout=policy.idle_timeout,
        max_folder_count=policy.max_folder_count,
        max_folder_size=policy.max_folder_size,
        max_session_scratch=policy.max_session_scratch,
        max_log_size=policy.max_log_size,
        on_quota=policy.on_quota,
        users=row.users,
        projects=row.projects,
    )


# Validating ---------------------------------------------------------------------------------


def clean(
    db: Session, *, kind: PolicyKind, raw: Mapping[str, Any], current: ResourcePolicy | None
) -> dict[str, Any]:
    """Column values for the fields in `raw`, every one checked.

    Raises InvalidInput when any field is wrong; its details hold `field` (the first wrong
    one) and `fields` (each wrong field with its message), so nothing is half-applied.
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            if key == "slots":
                base = current.limits if current is not None else Limits()
                values["total_slots"] = _slots(value or {}, base, errors)
            elif key == "name":
                values["name"] = _unique_name(db, kind=kind, value=value, current=current)
            elif key in USER_ONLY and kind is PolicyKind.PROJECT:
                _refuse_user_only(key, value)
            elif key in READERS:
                values[key] = READERS[key](key, value)
            elif key == "on_quota" and value is not None:
                values[key] = OnQuota(value)
        except InvalidInput as exc:
            errors[str(exc.details["field"])] = exc.message
    if errors:
        first = next(iter(errors))
        raise InvalidInput(errors[first], details={"field": first, "fields": errors})
    return values


def _slots(raw: Mapping[str, object], base: Limits, errors: dict[str, str]) -> dict[str, str]:
    caps = {slot: base[slot] for slot in base}
    for slot, value in raw.items():
        try:
            caps[slot] = fields.slot_limit(slot, value)
        except InvalidInput as exc:
            errors[str(exc.details["field"])] = exc.message
    return Limits(caps).to_json()


def _unique_name(
    db: Session, *, kind: PolicyKind, value: object, current: ResourcePolicy | None
) -> str:
    name = fields.name("name", value)
    clash = db.scalar(
        select(ResourcePolicy.id).where(ResourcePolicy.kind == kind, ResourcePolicy.name == name)
    )
    if clash is not None and (current is None or clash != current.id):
        raise InvalidInput(
            _("Another %(kind)s is already called %(name)s.")
            % {"kind": kind_label(kind), "name": name},
            details={"field": "name"},
        )
    return name


def _refuse_user_only(key: str, value: object) -> None:
    if key == "on_quota" or fields.is_unlimited(value):
        return  # project policies ignore it; nothing to refuse
    raise InvalidInput(_("Only user policies have this limit."), details={"field": key})


# Changing -----------------------------------------------------------------------------------


def create_policy(
    db: Session, *, admin: User, kind: PolicyKind, raw: Mapping[str, Any]
) -> ResourcePolicy:
    """A new policy of `kind` from the submitted fields (name required)."""
    values = clean(db, kind=kind, raw={"slots": {}, **raw}, current=None)
    if "name" not in values:
        raise InvalidInput(fields.name_rule(), details={"field": "name"})
    policy = ResourcePolicy(kind=kind, is_default=False, **values)
    db.add(policy)
    db.flush()
    _record(db, Action.POLICY_CREATE, admin=admin, policy=policy, details=_facts(policy))
    db.commit()
    return policy


def update_policy(
    db: Session, *, admin: User, policy_id: uuid.UUID, raw: Mapping[str, Any]
) -> ResourcePolicy:
    """Change the fields given in `raw`; the others stay. Slots given replace only themselves."""
    policy = get_policy(db, policy_id)
    before = _facts(policy)
    for column, value in clean(db, kind=policy.kind, raw=raw, current=policy).items():
        setattr(policy, column, value)
    after = _facts(policy)
    changed = {
        key: {"from": before[key], "to": after[key]} for key in after if before[key] != after[key]
    }
    if changed:
        _record(db, Action.POLICY_UPDATE, admin=admin, policy=policy, details=changed)
    db.commit()
    return policy


def delete_policy(db: Session, *, admin: User, policy_id: uuid.UUID) -> None:
    """Delete a policy nobody uses; the default of a kind cannot be deleted."""
    policy = get_policy(db, policy_id)
    if policy.is_default:
        raise Conflict(
            _("%(name)s is the default %(kind)s; make another one the default first.")
            % {"name": policy.name, "kind": kind_label(policy.kind)}
        )
    row = usage_of(db, policy)
    if row.users or row.projects:
        raise Conflict(
            _(
                "%(name)s is in use by %(users)d user(s) and %(projects)d project(s); "
                "give them another policy first."
            )
            % {"name": policy.name, "users": row.users, "projects": row.projects},
            details={"users": row.users, "projects": row.projects},
        )
    _record(db, Action.POLICY_DELETE, admin=admin, policy=policy, details=_facts(policy))
    db.delete(policy)
    db.commit()


def set_default(db: Session, *, admin: User, policy_id: uuid.UUID) -> ResourcePolicy:
    """Make a policy the default of its kind: users or projects without one work under it."""
    policy = get_policy(db, policy_id)
    previous = policies.default_policy(db, policy.kind)
    if previous.id != policy.id:
        previous.is_default = False
        db.flush()
        policy.is_default = True
        details = {"default": {"from": previous.name, "to": policy.name}}
        _record(db, Action.POLICY_UPDATE, admin=admin, policy=policy, details=details)
    db.commit()
    return policy


def _facts(policy: ResourcePolicy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "slots": dict(policy.total_slots or {}),
        **{key: getattr(policy, key) for key in READERS},
        "on_quota": str(policy.on_quota),
    }


def _record(
    db: Session, action: Action, *, admin: User, policy: ResourcePolicy, details: dict[str, Any]
) -> None:
    audit.record(
        db,
        action,
        actor=admin,
        target_type="policy",
        target_id=policy.id,
        target_label=f"{policy.kind}:{policy.name}",
        details=details,
    )
