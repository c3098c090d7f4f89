"""Resource policies: the limits a user or a project works under."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.db import Base, UTCDateTime, new_id, str_enum, utcnow
from shipyard.resources.quota import PolicyLimits
from shipyard.resources.slots import Limits


class PolicyKind(enum.StrEnum):
    USER = "user"
    PROJECT = "project"


class OnQuota(enum.StrEnum):
    """What happens to a request that does not fit the quota right now."""

    REFUSE = "refuse"
    QUEUE = "queue"


class ResourcePolicy(Base):
    """A named set of limits. None in a max_* column means unlimited."""

    __tablename__ = "resource_policies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[PolicyKind] = mapped_column(str_enum(PolicyKind, "policy_kind"))
    is_default: Mapped[bool] = mapped_column(default=False)
    total_slots: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    max_concurrent_sessions: Mapped[int | None] = mapped_column(default=None)
    max_pending_sessions: Mapped[int | None] = mapped_column(default=None)
    max_session_lifetime: Mapped[int | None] = mapped_column(default=None)  # seconds
    idle_timeout: Mapped[int | None] = mapped_column(default=None)  # seconds
    max_folder_count: Mapped[int | None] = mapped_column(default=None)
    max_folder_size: Mapped[int | None] = mapped_column(BigInteger, default=None)  # bytes
    # bytes of each session's in-memory /tmp; None: the site's session_scratch_mb
    max_session_scratch: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # bytes of each session's output the manager keeps (the last ones); None: session_log_mb
    max_log_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    on_quota: Mapped[OnQuota] = mapped_column(str_enum(OnQuota, "on_quota"), default=OnQuota.REFUSE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def limits(self) -> Limits:
        return Limits.from_json(self.total_slots)

    @property
    def quota(self) -> PolicyLimits:
        """What the quota rules (shipyard.resources.quota) read of this policy."""
        return PolicyLimits(
            limits=self.limits,
            max_concurrent_sessions=self.max_concurrent_sessions,
            max_pending_sessions=self.max_pending_sessions,
        )
