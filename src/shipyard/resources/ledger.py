"""Writing and reading the ledger. Only this module touches resource_usage.

Every change of a session into or out of an occupying status calls occupy() or release()
in the same transaction, so user, project, group and agent figures are sums of one source.
The ledger knows a session only as a Holder (who, where, how much); recounting it from the
sessions themselves is shipyard.sessions.recount.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import false, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shipyard.resources.models import SESSIONS_SLOT, Scope, Usage
from shipyard.resources.slots import ResourceSlots, from_units, to_units

Key = tuple[Scope, str]
UsageKey = tuple[Scope, str, str]


@dataclass(frozen=True)
class Held:
    """What one scope holds: resource slots and the number of occupying sessions."""

    slots: ResourceSlots
    sessions: int


EMPTY = Held(ResourceSlots(), 0)


class Holder(Protocol):
    """What the ledger needs of a session: who holds the slots, where, and how many."""

    @property
    def owner_id(self) -> uuid.UUID: ...
    @property
    def project_id(self) -> uuid.UUID: ...
    @property
    def resource_group_id(self) -> uuid.UUID: ...
    @property
    def agent_id(self) -> str | None: ...
    @property
    def slots(self) -> ResourceSlots: ...


def scopes_of(session: Holder) -> list[Key]:
    keys = [
        (Scope.USER, str(session.owner_id)),
        (Scope.PROJECT, str(session.project_id)),
        (Scope.GROUP, str(session.resource_group_id)),
    ]
    if session.agent_id is not None:
        keys.append((Scope.AGENT, session.agent_id))
    return keys


def rows_of(session: Holder, sign: int) -> list[dict[str, object]]:
    held = session.slots
    units = {slot: to_units(slot, held[slot]) for slot in held}
    units[SESSIONS_SLOT] = 1
    return [
        {"scope": scope, "scope_id": scope_id, "slot": slot, "amount": sign * amount}
        for scope, scope_id in scopes_of(session)
        for slot, amount in units.items()
    ]


def change(
    db: Session,
    *,
    occupied: Iterable[Holder] = (),
    released: Iterable[Holder] = (),
) -> None:
    """Sessions start (occupied) or stop (released) holding their slots: one upsert for all,
    with the rows summed per scope and slot (a key may appear only once in a statement)."""
    summed: dict[tuple[object, object, object], int] = defaultdict(int)
    for sessions, sign in ((occupied, +1), (released, -1)):
        for session in sessions:
            for row in rows_of(session, sign):
                summed[row["scope"], row["scope_id"], row["slot"]] += int(str(row["amount"]))
    rows = [
        {"scope": scope, "scope_id": scope_id, "slot": slot, "amount": amount}
        for (scope, scope_id, slot), amount in summed.items()
        if amount
    ]
    if not rows:
        return
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Usage)
    statement = statement.on_conflict_do_update(
        index_elements=[Usage.scope, Usage.scope_id, Usage.slot],
        set_={"amount": Usage.amount + statement.excluded.amount},
    )
    db.execute(statement, rows)


def occupy(db: Session, session: Holder) -> None:
    """The session starts holding its slots (it has just entered an occupying status)."""
    change(db, occupied=[session])


def release(db: Session, session: Holder) -> None:
    """The session stops holding its slots (it has just left the occupying statuses)."""
    change(db, released=[session])


def held(db: Session, scope: Scope, scope_ids: Iterable[str]) -> dict[str, Held]:
    """What each of the given scopes holds, in one query; absent ids hold nothing."""
    ids = list(scope_ids)
    if not ids:
        return {}
    amounts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in db.execute(
        select(Usage.scope_id, Usage.slot, Usage.amount).where(
            Usage.scope == scope, Usage.scope_id.in_(ids)
        )
    ):
        amounts[row.scope_id][row.slot] = row.amount
    return {scope_id: _held(amounts.get(scope_id, {})) for scope_id in ids}


def held_by_all(db: Session, scope: Scope) -> dict[str, Held]:
    """Every scope id of a kind that holds anything (admin views, the invariant)."""
    amounts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in db.execute(
        select(Usage.scope_id, Usage.slot, Usage.amount).where(Usage.scope == scope)
    ):
        amounts[row.scope_id][row.slot] = row.amount
    return {scope_id: _held(values) for scope_id, values in amounts.items()}


def _held(units: dict[str, int]) -> Held:
    slots = {
        slot: from_units(slot, amount) for slot, amount in units.items() if slot != SESSIONS_SLOT
    }
    return Held(ResourceSlots(slots), units.get(SESSIONS_SLOT, 0))


@dataclass(frozen=True)
class Drift:
    scope: Scope
    scope_id: str
    slot: str
    recorded: int
    actual: int


def lock(db: Session) -> None:
    """Serialise this transaction with every ledger writer until it ends.

    Call it first in a transaction that reads sessions and the ledger together: on
    PostgreSQL a SHARE ROW EXCLUSIVE lock on resource_usage (writers wait, readers do not);
    on SQLite an empty write, which takes the database's single write lock."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("LOCK TABLE resource_usage IN SHARE ROW EXCLUSIVE MODE"))
    else:
        db.execute(update(Usage).where(false()).values(amount=Usage.amount))


def fix(db: Session, expected: dict[UsageKey, int], recorded: dict[UsageKey, Usage]) -> list[Drift]:
    drifts = []
    for key in sorted(set(expected) | set(recorded)):
        usage = recorded.get(key)
        have = usage.amount if usage else 0
        want = expected.get(key, 0)
        if have != want:
            drifts.append(Drift(key[0], key[1], key[2], have, want))
            if usage is None:
                db.add(Usage(scope=key[0], scope_id=key[1], slot=key[2], amount=want))
            else:
                usage.amount = want
    return drifts
