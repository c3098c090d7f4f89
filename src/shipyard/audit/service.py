"""Writing audit entries. record() adds to the caller's transaction: the entry lands exactly
when the change it describes does (and not at all when that change is rolled back).

Where a request came from is taken from the request context (set by the console middleware
for every HTTP request), so services need not pass it around; pass `address` to override.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from shipyard.audit.models import Action, AuditEntry
from shipyard.users.models import User

_address: contextvars.ContextVar[str] = contextvars.ContextVar("audit_address", default="")


def set_request_address(address: str) -> None:
    """The client address of the request being served (called once per request)."""
    _address.set(address)


def request_address() -> str:
    return _address.get()


def record(
    db: Session,
    action: Action,
    *,
    actor: User | None,
    target_type: str = "",
    target_id: str | uuid.UUID = "",
    target_label: str = "",
    details: Mapping[str, Any] | None = None,
    success: bool = True,
    actor_email: str | None = None,
    address: str | None = None,
) -> AuditEntry:
    """Add an entry in db's transaction (the caller commits). `actor_email` defaults to the
    actor's; give it for a failed login, where there is no actor but an address was typed."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_email=(actor_email if actor_email is not None else actor.email if actor else "")[
            :254
        ],
        action=action.value,
        target_type=target_type,
        target_id=str(target_id),
        target_label=target_label[:255],
        client_address=(address if address is not None else request_address())[:64],
        success=success,
        details=dict(details or {}),
    )
    db.add(entry)
    return entry
