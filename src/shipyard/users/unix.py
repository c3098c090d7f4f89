"""Session accounts: the uid/gid each user's sessions run as (DESIGN §5, one uid per user).

A user's number is handed out the first time one of their sessions goes to an agent and
never changes or goes to anyone else; the uid is `session_uid_base + number`, the gid the
same. Agents refuse uids outside their own range, so the base must lie in it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shipyard.config import Settings
from shipyard.errors import QuotaExceeded
from shipyard.i18n import _
from shipyard.users.models import UnixAccount


def session_uids(
    db: Session, settings: Settings, *, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Each user's session uid, numbering those who have none yet (safe when concurrent)."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    known = _numbers(db, wanted)
    missing = wanted - known.keys()
    if missing:
        dialect = db.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        rows = [{"user_id": user_id} for user_id in sorted(missing)]
        db.execute(insert(UnixAccount).values(rows).on_conflict_do_nothing())
        known = _numbers(db, wanted)
    too_high = [n for n in known.values() if n > settings.session_uid_count]
    if too_high:
        raise QuotaExceeded(_("This site has no session account left for new users."))
    return {user_id: settings.session_uid_base + number for user_id, number in known.items()}


def _numbers(db: Session, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    query = select(UnixAccount.user_id, UnixAccount.number).where(UnixAccount.user_id.in_(user_ids))
    return dict(db.execute(query).all())
