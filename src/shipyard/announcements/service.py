"""The announcement: read it (every page), set or clear it (admins, audited)."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from shipyard.announcements.markdown import key_of, render
from shipyard.announcements.models import THE_ANNOUNCEMENT, Announcement
from shipyard.announcements.schemas import MAX_LENGTH, AnnouncementPublic
from shipyard.audit import service as audit
from shipyard.audit.models import Action
from shipyard.db import utcnow
from shipyard.errors import InvalidInput, PermissionDenied
from shipyard.i18n import _
from shipyard.users.models import User


@dataclass(frozen=True)
class Banner:
    """What every page shows: the rendered message and the key its dismissal is stored by."""

    html: Markup
    key: str


def banner(db: Session) -> Banner | None:
    """The enabled announcement, rendered (one primary-key query; rendering is cached)."""
    found = db.get(Announcement, THE_ANNOUNCEMENT)
    if found is None or not found.enabled or not found.message.strip():
        return None
    return Banner(html=render(found.message), key=key_of(found.message))


def get(db: Session) -> AnnouncementPublic:
    """The announcement as admins edit it (enabled=False and empty when there is none)."""
    row = db.execute(
        select(Announcement, User.email)
        .outerjoin(User, User.id == Announcement.updated_by)
        .where(Announcement.id == THE_ANNOUNCEMENT)
    ).first()
    if row is None:
        return AnnouncementPublic(message="", html="", enabled=False, updated_at=None)
    found, email = row
    return AnnouncementPublic(
        message=found.message,
        html=str(render(found.message)),
        enabled=found.enabled,
        updated_at=found.updated_at,
        updated_by=email,
    )


def checked(message: str) -> str:
    """The message without trailing blanks; refused when too long or when it holds NUL."""
    if len(message) > MAX_LENGTH:
        raise InvalidInput(
            _("The announcement may have at most %(count)d characters.") % {"count": MAX_LENGTH},
            details={"field": "message"},
        )
    if "\x00" in message:
        raise InvalidInput(_("The announcement holds a character that is not allowed."))
    return message.rstrip()


def set_(db: Session, *, message: str, enabled: bool, by: User) -> AnnouncementPublic:
    """Save the message (shown on every page while enabled); an empty one is refused."""
    _admin_only(by)
    text = checked(message)
    if not text.strip():
        raise InvalidInput(
            _("Write a message, or clear the announcement instead."), details={"field": "message"}
        )
    found = _row(db)
    found.message, found.enabled, found.updated_by, found.updated_at = (
        text,
        enabled,
        by.id,
        utcnow(),
    )
    audit.record(
        db,
        Action.ANNOUNCEMENT_SET,
        actor=by,
        target_type="announcement",
        target_label=text[:80],
        details={"enabled": enabled, "length": len(text)},
    )
    db.commit()
    return get(db)


def clear(db: Session, *, by: User) -> None:
    """Remove the message: no page shows a banner any more."""
    _admin_only(by)
    found = _row(db)
    found.message, found.enabled, found.updated_by, found.updated_at = "", False, by.id, utcnow()
    audit.record(db, Action.ANNOUNCEMENT_CLEAR, actor=by, target_type="announcement")
    db.commit()


def preview(message: str) -> Markup:
    """The message rendered as the banner would show it (nothing is saved)."""
    return render(checked(message))


def _row(db: Session) -> Announcement:
    found = db.get(Announcement, THE_ANNOUNCEMENT)
    if found is None:
        found = Announcement(id=THE_ANNOUNCEMENT)
        db.add(found)
    return found


def _admin_only(user: User) -> None:
    if not user.is_admin:
        raise PermissionDenied(_("Only administrators may change the announcement."))
