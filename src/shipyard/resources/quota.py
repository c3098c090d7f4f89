"""The quota rules: whether a request is admitted now, and every limit that blocks it.

Pure functions of figures already read: the same rules serve the launcher, creation and the
scheduler; shipyard.sessions.quota gathers the figures (shipyard.policies gives the limits).
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.i18n import _
from shipyard.resources.ledger import Held
from shipyard.resources.schemas import Block, FitReport
from shipyard.resources.slots import Limits, ResourceSlots, amount_text


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
    blocks = []
    over_user = user.limits.exceeded_by(user_held.slots + request)
    if over_user:
        blocks.append(Block(limit="user", slots=over_user, message=_message("user", over_user)))
    over_project = project.limits.exceeded_by(project_held.slots + request)
    if over_project:
        blocks.append(
            Block(limit="project", slots=over_project, message=_message("project", over_project))
        )
    cap = user.max_concurrent_sessions
    if cap is not None and user_held.sessions + 1 > cap:
        blocks.append(
            Block(
                limit="sessions",
                slots=[],
                message=_("You already have %(n)d of at most %(cap)d sessions.")
                % {"n": user_held.sessions, "cap": cap},
            )
        )
    return blocks


def _message(limit: str, slots: list[str]) -> str:
    names = ", ".join(slots)
    if limit == "user":
        return _("Your resource limit does not allow more %(slots)s.") % {"slots": names}
    return _("The project's resource limit does not allow more %(slots)s.") % {"slots": names}


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
    cap = user.max_pending_sessions
    if cap is not None and pending >= cap:
        blocks.append(
            Block(
                limit="pending",
                slots=[],
                message=_("You already have %(n)d pending sessions, the most your policy allows.")
                % {"n": pending},
            )
        )
    if not any(request.fits_in(free) for free in agents_free):
        blocks.append(
            Block(
                limit="group",
                slots=sorted(request),
                message=_("No agent in this resource group has that much free right now."),
            )
        )
    remaining = _remaining(user.limits, project.limits, user_held, project_held)
    return FitReport(fits=not blocks, blocked_by=blocks, remaining=remaining)


def _remaining(
    user_limits: Limits, project_limits: Limits, user_held: Held, project_held: Held
) -> dict[str, dict[str, str]]:
    """What each limit still allows, exact ("inf" when unlimited); the launcher bounds by it."""
    user = user_limits.remaining(user_held.slots)
    project = project_limits.remaining(project_held.slots)
    slots = ("cpu", "mem", "cuda.device")
    return {
        "user": {slot: amount_text(user[slot]) for slot in slots},
        "project": {slot: amount_text(project[slot]) for slot in slots},
    }
