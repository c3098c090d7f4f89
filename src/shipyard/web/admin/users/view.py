"""What the console's user administration shows: filters read from the URL, page links,
labels, and its dialogs (the kit's: a modal's content for htmx, else a page of their own)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from shipyard.admin.users import PAGE_SIZE, UserFilter
from shipyard.i18n import _
from shipyard.projects.models import MemberRole
from shipyard.users.admin_schemas import MembershipIn
from shipyard.users.models import Role, UserStatus
from shipyard.web import kit

USERS_CHANGED = "shipyard:users-changed"
USER_CHANGED = "shipyard:user-changed"


def role_labels() -> dict[str, str]:
    return {
        Role.SUPERADMIN.value: _("Superadmin"),
        Role.ADMIN.value: _("Admin"),
        Role.USER.value: _("User"),
    }


def status_labels() -> dict[str, str]:
    return {UserStatus.ACTIVE.value: _("Active"), UserStatus.INACTIVE.value: _("Inactive")}


@dataclass(frozen=True)
class Filters:
    """The list's filters as the URL carries them (unknown values mean "all")."""

    q: str = ""
    role: str = ""
    status: str = ""
    page: int = 1

    @classmethod
    def read(cls, *, q: str, role: str, status: str, page: int) -> Filters:
        return cls(
            q=q.strip(),
            role=role if role in Role.__members__.values() else "",
            status=status if status in UserStatus.__members__.values() else "",
            page=page,
        )

    def spec(self) -> UserFilter:
        return UserFilter(
            search=self.q,
            role=Role(self.role) if self.role else None,
            status=UserStatus(self.status) if self.status else None,
            offset=(self.page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )

    def url(self, page: int | None = None) -> str:
        """This list's address, at `page` (default: the current one)."""
        params = {"q": self.q, "role": self.role, "status": self.status}
        wanted = {key: value for key, value in params.items() if value}
        number = self.page if page is None else page
        if number > 1:
            wanted["page"] = str(number)
        return "/admin/users" + (f"?{urlencode(wanted)}" if wanted else "")


@dataclass(frozen=True)
class Pages:
    """Page links: numbers around the current page, None where some are left out."""

    current: int
    last: int
    first_row: int
    last_row: int
    links: list[int | None]


def pages(filters: Filters, total: int) -> Pages:
    last = max(1, math.ceil(total / PAGE_SIZE))
    current = filters.page
    near = {1, last, *range(current - 2, current + 3)}
    links: list[int | None] = []
    previous = 0
    for number in sorted(n for n in near if 1 <= n <= last):
        if number - previous > 1:
            links.append(None)
        links.append(number)
        previous = number
    first_row = (current - 1) * PAGE_SIZE + 1 if total else 0
    return Pages(current, last, first_row, min(total, current * PAGE_SIZE), links)


def memberships(projects: list[str], owners: list[str]) -> list[MembershipIn | str]:
    """The form's project checkboxes as the service takes them."""
    owned = set(owners)
    return [
        MembershipIn(project=ref, role=MemberRole.OWNER if ref in owned else MemberRole.MEMBER)
        for ref in dict.fromkeys([*projects, *owners])
    ]


DIALOGS = kit.Dialogs(
    page="admin/user_dialog.html", looks=lambda: {"form": {}, "role_labels": role_labels()}
)


def user_path(user_id: uuid.UUID) -> str:
    return f"/admin/users/{user_id}"
