"""The quota rules: whether a request is admitted now, every limit that blocks it, and what
one more session could get now (the Summary's and the launcher's Remaining).

Pure functions of figures already read: the same rules serve the launcher, creation, the
Summary page and the scheduler; shipyard.sessions.quota and shipyard.summary gather the
figures (shipyard.policies gives the limits).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from shipyard.i18n import _, ngettext
from shipyard.resources.ledger import Held
from shipyard.resources.schemas import Block, FitReport
from shipyard.resources.slots import (
    SLOT_KINDS,
    ZERO,
    Limits,
    ResourceSlots,
    amount_text,
    show_amount,
    slot_label,
)


@dataclass(frozen=True)
class PolicyLimits:
    """What the rules read of a resource policy (ResourcePolicy.quota)."""

    limits: Limits
    max_concurrent_sessions: int | None = None
    max_pending_sessions: int | None = None


def quota_blocks(
    request: ResourceSlots,
    *,
    user: PolicyLimits,
    project: PolicyLimits,
    user_held: Held,
    project_held: Held,
) -> list[Block]:
    """The policy limits that keep `request` from being admitted now (empty: it may run)."""
    blocks = [
        block
        for limit, policy, held in (("user", user, user_held), ("project", project, project_held))
        if (block := _limit_block(limit, request, limits=policy.limits, held=held.slots))
    ]
    if sessions_full(user, user_held):
        blocks.append(Block(limit="sessions", slots=[], message=sessions_message(user, user_held)))
    return blocks


def _limit_block(
    limit: str, request: ResourceSlots, *, limits: Limits, held: ResourceSlots
) -> Block | None:
    over = limits.exceeded_by(held + request)
    if not over:
        return None
    by_slot = {slot: _over_limit(limit, slot, request, limits=limits, held=held) for slot in over}
    return Block(limit=limit, slots=over, message=" ".join(by_slot.values()), by_slot=by_slot)


def _over_limit(
    limit: str, slot: str, request: ResourceSlots, *, limits: Limits, held: ResourceSlots
) -> str:
    """One slot over one limit, with every amount: "CPU: this asks for 2 cores, but ..."."""
    left = max(ZERO, limits[slot] - held[slot])
    values = {
        "name": slot_label(slot),
        "asked": show_amount(slot, request[slot]),
        "limit": show_amount(slot, limits[slot]),
        "used": show_amount(slot, held[slot]),
        "left": show_amount(slot, left),
    }
    if limit == "user":
        text = _(
            "%(name)s: this asks for %(asked)s, but your limit of %(limit)s leaves "
            "%(left)s (%(used)s in use)."
        )
    else:
        text = _(
            "%(name)s: this asks for %(asked)s, but the project's limit of %(limit)s leaves "
            "%(left)s (%(used)s in use)."
        )
    return text % values


def sessions_full(user: PolicyLimits, held: Held) -> bool:
    """Whether the user already has as many occupying sessions as the policy allows."""
    cap = user.max_concurrent_sessions
    return cap is not None and held.sessions + 1 > cap


def sessions_message(user: PolicyLimits, held: Held) -> str:
    cap = user.max_concurrent_sessions or 0
    return ngettext(
        "You already have %(n)d of at most %(cap)d session.",
        "You already have %(n)d of at most %(cap)d sessions.",
        cap,
    ) % {"n": held.sessions, "cap": cap}


def pending_full(user: PolicyLimits, pending: int) -> bool:
    """Whether the user already has as many pending sessions as the policy allows."""
    cap = user.max_pending_sessions
    return cap is not None and pending >= cap


def pending_message(pending: int) -> str:
    return ngettext(
        "You already have %(n)d pending session, the most your policy allows.",
        "You already have %(n)d pending sessions, the most your policy allows.",
        pending,
    ) % {"n": pending}


def largest_free(agents_free: Iterable[ResourceSlots]) -> ResourceSlots:
    """Per slot, the most free on any one agent (never below zero; none without agents).

    A session runs on one agent, so no session can get more of a slot than the agent with
    the most of it free. Each slot's figure may come from a different agent: it answers "how
    much CPU could one more session get", whatever it asks of the other slots; whether a
    whole request fits on one agent is fit()'s question."""
    most: dict[str, Decimal] = {}
    for free in agents_free:
        for slot in free:
            most[slot] = max(most.get(slot, ZERO), free[slot])
    return ResourceSlots(most)


@dataclass(frozen=True)
class Room:
    """What one more session could get of a slot now, and the limit that sets it:
    "user", "project", "group" (the largest agent's free amount), "sessions" or "pending"."""

    slot: str
    amount: Decimal
    bound: str


def room(
    *,
    user: PolicyLimits,
    project: PolicyLimits,
    user_held: Held,
    project_held: Held,
    largest: ResourceSlots,
    pending: int,
) -> dict[str, Room]:
    """Per slot kind, what one more session could get now under every limit at once: the
    user's and the project's caps less what they hold, and the largest free amount on one
    agent of the group (so never unlimited); nothing when a session-count limit is reached."""
    if sessions_full(user, user_held):
        return {slot: Room(slot, ZERO, "sessions") for slot in SLOT_KINDS}
    if pending_full(user, pending):
        return {slot: Room(slot, ZERO, "pending") for slot in SLOT_KINDS}
    rooms = {}
    for slot in SLOT_KINDS:
        left = {
            "user": user.limits[slot] - user_held.slots[slot],
            "project": project.limits[slot] - project_held.slots[slot],
            "group": largest[slot],
        }
        bound = min(left, key=lambda name: left[name])  # the first of equals: user, project
        rooms[slot] = Room(slot, max(ZERO, left[bound]), bound)
    return rooms


def fit(
    request: ResourceSlots,
    *,
    user: PolicyLimits,
    project: PolicyLimits,
    user_held: Held,
    project_held: Held,
    agents_free: list[ResourceSlots],
    pending: int,
) -> FitReport:
    """Whether `request` would be admitted now and, if not, every limit that blocks it."""
    blocks = quota_blocks(
        request, user=user, project=project, user_held=user_held, project_held=project_held
    )
    if pending_full(user, pending):
        blocks.append(Block(limit="pending", slots=[], message=pending_message(pending)))
    largest = largest_free(agents_free)
    if not any(request.fits_in(free) for free in agents_free):
        blocks.append(_group_block(request, agents=len(agents_free), largest=largest))
    rooms = room(
        user=user,
        project=project,
        user_held=user_held,
        project_held=project_held,
        largest=largest,
        pending=pending,
    )
    return FitReport(
        fits=not blocks,
        blocked_by=blocks,
        remaining=_remaining(user.limits, project.limits, user_held, project_held, largest),
        now={slot: amount_text(r.amount) for slot, r in rooms.items()},
        bound={slot: r.bound for slot, r in rooms.items()},
    )


def _group_block(request: ResourceSlots, *, agents: int, largest: ResourceSlots) -> Block:
    """Why no agent of the group can take `request` now, by slot where one slot is the cause."""
    if not agents:
        text = _("No agent of this resource group is up and taking sessions.")
        return Block(limit="group", slots=sorted(request), message=text)
    by_slot = {
        slot: _(
            "%(name)s: this asks for %(asked)s, but the most free on one agent of this "
            "resource group is %(free)s."
        )
        % {
            "name": slot_label(slot),
            "asked": show_amount(slot, request[slot]),
            "free": show_amount(slot, largest[slot]),
        }
        for slot in sorted(request)
        if request[slot] > largest[slot]
    }
    if not by_slot:  # each slot is free somewhere, but not all of them on one agent
        text = _("No single agent of this resource group has all of that free at once.")
        return Block(limit="group", slots=sorted(request), message=text)
    return Block(
        limit="group", slots=sorted(by_slot), message=" ".join(by_slot.values()), by_slot=by_slot
    )


def _remaining(
    user_limits: Limits,
    project_limits: Limits,
    user_held: Held,
    project_held: Held,
    largest: ResourceSlots,
) -> dict[str, dict[str, str]]:
    """What each limit still allows, exact ("inf" when unlimited), and the group's largest
    free amount on one agent; `now` in the report is the least of them."""
    user = user_limits.remaining(user_held.slots)
    project = project_limits.remaining(project_held.slots)
    return {
        "user": {slot: amount_text(user[slot]) for slot in SLOT_KINDS},
        "project": {slot: amount_text(project[slot]) for slot in SLOT_KINDS},
        "group": {slot: amount_text(largest[slot]) for slot in SLOT_KINDS},
    }
