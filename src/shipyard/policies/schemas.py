"""Resource policy shapes on the wire (administration).

A limit is sent as a value or as unlimited: null, "", "unlimited", "inf" or "∞". Counts are
whole numbers; durations are seconds or texts such as "8h"; sizes are bytes or texts such
as "16g"; per-slot amounts are as sessions request them ("2", "0.5", "32g").
"""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shipyard.policies.models import OnQuota, PolicyKind
from shipyard.validation import NO_NUL

Text = Annotated[str, Field(max_length=64, pattern=NO_NUL)]
Limit = Text | int | float | None


class PolicyFields(BaseModel):
    """What an update may change; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = None
    slots: dict[Text, Limit] | None = Field(
        default=None, description="per slot: an amount, or null/'unlimited'", max_length=64
    )
    max_concurrent_sessions: Limit = None
    max_pending_sessions: Limit = None
    max_session_lifetime: Limit = Field(default=None, description="seconds, or e.g. '8h'")
    idle_timeout: Limit = Field(default=None, description="seconds, or e.g. '30m'")
    max_folder_count: Limit = None
    max_folder_size: Limit = Field(default=None, description="bytes, or e.g. '100g'")
    max_session_scratch: Limit = Field(
        default=None,
        description="bytes of each session's in-memory /tmp (at least 16 MiB), or e.g. '2g'; "
        "null or 'default': the site's session_scratch_mb",
    )
    max_log_size: Limit = Field(
        default=None,
        description="bytes of each session's output the manager keeps, the last ones (at "
        "least 64 KiB), or e.g. '16m'; null or 'default': the site's session_log_mb",
    )
    on_quota: OnQuota | None = None


class PolicyCreate(PolicyFields):
    name: Text
    kind: PolicyKind


class PolicyPublic(BaseModel):
    """A policy; None in a max_* field and "inf" in slots mean unlimited (the scratch size: the
    site default)."""

    id: uuid.UUID
    name: str
    kind: PolicyKind
    is_default: bool
    slots: dict[str, str]
    max_concurrent_sessions: int | None
    max_pending_sessions: int | None
    max_session_lifetime: int | None
    idle_timeout: int | None
    max_folder_count: int | None
    max_folder_size: int | None
    max_session_scratch: int | None = Field(
        description="bytes of each session's in-memory /tmp; null: the site's session_scratch_mb"
    )
    max_log_size: int | None = Field(
        default=None,
        description="bytes of each session's output the manager keeps; null: the site's "
        "session_log_mb",
    )
    on_quota: OnQuota
    users: int = Field(description="users under this policy (the default: users without one)")
    projects: int = Field(description="projects under this policy")


class PoliciesPublic(BaseModel):
    data: list[PolicyPublic]
    count: int
