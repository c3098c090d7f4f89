"""What one more session could get now (resources.quota.room): every limit at once and the
group's free capacity, which the Summary's Remaining and the launcher's sliders both show."""

from __future__ import annotations

from decimal import Decimal

from shipyard.resources.ledger import EMPTY, Held
from shipyard.resources.quota import PolicyLimits, fit, largest_free, room
from shipyard.resources.slots import Limits, ResourceSlots

NONE = PolicyLimits(limits=Limits())
GIB = 2**30


def slots(**amounts: str | int) -> ResourceSlots:
    return ResourceSlots({k.replace("gpu", "cuda.device"): v for k, v in amounts.items()})


def figures(
    *,
    user: PolicyLimits = NONE,
    project: PolicyLimits = NONE,
    user_held: Held = EMPTY,
    agents: list[ResourceSlots],
    pending: int = 0,
) -> dict[str, tuple[Decimal, str]]:
    rooms = room(
        user=user,
        project=project,
        user_held=user_held,
        project_held=user_held,
        largest=largest_free(agents),
        pending=pending,
    )
    return {slot: (r.amount, r.bound) for slot, r in rooms.items()}


def test_a_group_without_agents_leaves_nothing_whatever_the_limits_allow() -> None:
    user = PolicyLimits(limits=Limits({"cpu": "1"}))
    held = Held(slots(cpu="0.5"), 1)
    got = figures(user=user, user_held=held, agents=[])
    assert got["cpu"] == (Decimal(0), "group")  # not the 0.5 cores the limit leaves
    assert got["cuda.device"] == (Decimal(0), "group")


def test_a_partly_used_gpu_agent_leaves_what_is_free_not_infinity() -> None:
    got = figures(agents=[slots(cpu=8, mem=16 * GIB, gpu=1)])  # 2 GPUs, 1 held
    assert got["cuda.device"] == (Decimal(1), "group")


def test_one_session_gets_at_most_the_largest_agent_free_not_the_sum() -> None:
    got = figures(agents=[slots(cpu=3, mem=GIB), slots(cpu=2, mem=4 * GIB)])
    assert got["cpu"] == (Decimal(3), "group")
    assert got["mem"] == (Decimal(4 * GIB), "group")  # each slot's largest, from any agent


def test_the_tightest_limit_sets_it_and_says_which() -> None:
    user = PolicyLimits(limits=Limits({"cpu": "4"}))
    project = PolicyLimits(limits=Limits({"mem": str(2 * GIB)}))
    got = figures(
        user=user,
        project=project,
        user_held=Held(slots(cpu=3, mem=GIB), 1),
        agents=[slots(cpu=8, mem=16 * GIB)],
    )
    assert got["cpu"] == (Decimal(1), "user")
    assert got["mem"] == (Decimal(GIB), "project")


def test_an_over_allocated_agent_leaves_zero_not_less() -> None:
    assert figures(agents=[slots(cpu=-1)])["cpu"] == (Decimal(0), "group")


def test_at_the_session_count_limit_nothing_is_left() -> None:
    user = PolicyLimits(limits=Limits(), max_concurrent_sessions=2, max_pending_sessions=1)
    got = figures(user=user, user_held=Held(slots(cpu=1), 2), agents=[slots(cpu=8)])
    assert got["cpu"] == (Decimal(0), "sessions")
    pending = figures(user=user, agents=[slots(cpu=8)], pending=1)
    assert pending["cpu"] == (Decimal(0), "pending")


def test_the_fit_report_gives_the_same_figure_the_summary_shows() -> None:
    user = PolicyLimits(limits=Limits({"cpu": "2"}))
    agents = [slots(cpu=1, mem=8 * GIB, gpu=1)]
    report = fit(
        slots(cpu=2, mem=GIB),
        user=user,
        project=NONE,
        user_held=EMPTY,
        project_held=EMPTY,
        agents_free=agents,
        pending=0,
    )
    assert report.now == {"cpu": "1", "mem": str(8 * GIB), "cuda.device": "1"}
    assert report.bound == {"cpu": "group", "mem": "group", "cuda.device": "group"}
    assert not report.fits
    (block,) = report.blocked_by
    assert block.limit == "group"
    assert block.by_slot == {
        "cpu": "CPU: this asks for 2 cores, but the most free on one agent of this "
        "resource group is 1 core."
    }
