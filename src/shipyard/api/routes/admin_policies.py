"""Administration of resource policies through the API (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from shipyard.admin import policies
from shipyard.api.deps import AdminUser, require_admin
from shipyard.http.deps import DbDep
from shipyard.policies.models import PolicyKind
from shipyard.policies.schemas import PoliciesPublic, PolicyCreate, PolicyFields, PolicyPublic

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])

KindQuery = Annotated[PolicyKind | None, Query(description="user or project")]


@router.get("/policies")
def list_policies(db: DbDep, kind: KindQuery = None) -> PoliciesPublic:
    """User and project policies, defaults first, with how many users and projects use each."""
    rows = policies.list_policies(db, kind=kind)
    return PoliciesPublic(data=[policies.present(row) for row in rows], count=len(rows))


@router.post("/policies", status_code=status.HTTP_201_CREATED)
def create_policy(body: PolicyCreate, admin: AdminUser, db: DbDep) -> PolicyPublic:
    raw = body.model_dump(exclude_unset=True, exclude={"kind"})
    policy = policies.create_policy(db, admin=admin, kind=body.kind, raw=raw)
    return policies.present(policies.usage_of(db, policy))


@router.get("/policies/{ref}")
def show_policy(ref: str, db: DbDep, kind: KindQuery = None) -> PolicyPublic:
    """One policy by id or name (with `kind` when a user and a project policy share it)."""
    return policies.present(policies.usage_of(db, policies.find_policy(db, ref, kind=kind)))


@router.patch("/policies/{ref}")
def update_policy(
    ref: str, body: PolicyFields, admin: AdminUser, db: DbDep, kind: KindQuery = None
) -> PolicyPublic:
    """Change the fields given; in `slots` only the slots named change. Applies to the next
    session request; running sessions keep going."""
    policy = policies.find_policy(db, ref, kind=kind)
    raw = body.model_dump(exclude_unset=True)
    policies.update_policy(db, admin=admin, policy_id=policy.id, raw=raw)
    return policies.present(policies.usage_of(db, policy))


@router.post("/policies/{ref}/default")
def make_default(ref: str, admin: AdminUser, db: DbDep, kind: KindQuery = None) -> PolicyPublic:
    """Make it the default of its kind: users or projects without a policy of their own."""
    policy = policies.find_policy(db, ref, kind=kind)
    policies.set_default(db, admin=admin, policy_id=policy.id)
    return policies.present(policies.usage_of(db, policy))


@router.delete("/policies/{ref}", status_code=status.HTTP_204_NO_CONTENT)
def delete_policy(ref: str, admin: AdminUser, db: DbDep, kind: KindQuery = None) -> Response:
    """Delete an unused policy; refused (409) while users or projects use it, or for a default."""
    policy = policies.find_policy(db, ref, kind=kind)
    policies.delete_policy(db, admin=admin, policy_id=policy.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
