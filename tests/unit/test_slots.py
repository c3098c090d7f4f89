"""ResourceSlots and Limits: parsing, exact arithmetic, unlimited, properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.errors import InvalidInput
from shipyard.resources.slots import (
    UNLIMITED,
    Limits,
    ResourceSlots,
    humanize,
    parse_amount,
    show_amount,
)

SLOTS = ("cpu", "mem", "cuda.device")
cpu = st.decimals(min_value=0, max_value=10_000, places=3)
whole = st.integers(min_value=0, max_value=2**50).map(Decimal)
devices = st.integers(min_value=0, max_value=4096).map(Decimal)
amounts = st.fixed_dictionaries({}, optional={"cpu": cpu, "mem": whole, "cuda.device": devices})
slots = amounts.map(ResourceSlots)
limits = st.fixed_dictionaries(
    {}, optional={"cpu": cpu | st.just(UNLIMITED), "mem": whole, "cuda.device": devices}
).map(Limits)


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        (["cpu=1"], {"cpu": "1"}),
        (["cpu=0.5", "mem=512m"], {"cpu": "0.5", "mem": "536870912"}),
        (["mem=2g", "cuda.device=1"], {"mem": "2147483648", "cuda.device": "1"}),
        (["mem=1.5GiB"], {"mem": "1610612736"}),
        (["mem=1024"], {"mem": "1024"}),
        (["cpu=0"], {}),
    ],
)
def test_parse_cli_pairs(pairs: list[str], expected: dict[str, str]) -> None:
    assert ResourceSlots.parse(pairs).to_json() == expected


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["cpu=-1"], "CPU needs a number of cores such as 2 or 0.5, not “-1”."),
        (["cpu=abc"], "CPU needs a number of cores such as 2 or 0.5, not “abc”."),
        (["cpu=0.0001"], "CPU takes at most three decimal places, such as 0.125."),
        (["cuda.device=0.5"], "GPU needs a whole number, not 0.5."),
        (["cuda.device=-1"], "GPU needs a whole number such as 0, 1 or 2, not “-1”."),
        (["mem=12x"], "Memory needs a size such as 512m or 4g, not “12x”."),
        (["mem=lots"], "Memory needs a size such as 512m or 4g, not “lots”."),
        (["gpu=1"], "Unknown resource: gpu."),
        (["cpu"], "Write resources as slot=amount, for example cpu=2 or mem=4g."),
        (["=1"], "Write resources as slot=amount, for example cpu=2 or mem=4g."),
        (["cpu=NaN"], "CPU needs a number of cores such as 2 or 0.5, not “NaN”."),
        (["cpu=1e400"], "CPU can be at most 1000000 cores."),
        (["cuda.device=5000"], "GPU can be at most 4096 GPUs."),
    ],
)
def test_bad_amounts_are_refused_clearly(pairs: list[str], message: str) -> None:
    """Each refusal names the slot as people know it (never "mem" or "cpu"), in its unit."""
    with pytest.raises(InvalidInput) as refused:
        ResourceSlots.parse(pairs)
    assert refused.value.message == message


@pytest.mark.parametrize(
    ("slot", "value", "shown"),
    [
        ("cpu", "1", "1 core"),
        ("cpu", "0.5", "0.5 cores"),
        ("cpu", "0", "0 cores"),
        ("cpu", "2", "2 cores"),
        ("cuda.device", "1", "1 GPU"),
        ("cuda.device", "0", "0 GPUs"),
        ("mem", str(2**30), "1 GiB"),
        ("mem", str(700 * 2**10), "700 KiB"),
        ("mem", "0", "0 B"),
        ("cpu", "inf", "unlimited"),
    ],
)
def test_amounts_show_in_their_unit_with_plurals(slot: str, value: str, shown: str) -> None:
    assert show_amount(slot, Decimal(value)) == shown


def test_unlimited_caps_everything_and_shows_as_infinity() -> None:
    caps = Limits({"cpu": "4"})
    huge = ResourceSlots({"cpu": 4, "mem": 2**60, "cuda.device": 100})
    assert caps.allows(huge)
    assert caps["mem"] == UNLIMITED
    assert caps.exceeded_by(huge + ResourceSlots({"cpu": "0.001"})) == ["cpu"]
    assert humanize("mem", caps["mem"]) == "∞"
    assert parse_amount("cpu", "unlimited") == UNLIMITED
    assert Limits({"cpu": UNLIMITED}).to_json() == {}


def test_humanize() -> None:
    assert humanize("mem", Decimal(536870912)) == "512 MiB"
    assert humanize("mem", Decimal(1610612736)) == "1.5 GiB"
    assert humanize("cpu", Decimal("1.500")) == "1.5"
    assert humanize("cuda.device", Decimal(2)) == "2"


@given(slots, slots)
def test_addition_and_subtraction_are_exact_inverses(a: ResourceSlots, b: ResourceSlots) -> None:
    assert (a + b) - b == a
    assert a + b == b + a
    assert (a - a).is_zero()


@given(slots, slots, slots)
def test_addition_is_associative(a: ResourceSlots, b: ResourceSlots, c: ResourceSlots) -> None:
    assert (a + b) + c == a + (b + c)


@given(slots)
def test_json_round_trip(a: ResourceSlots) -> None:
    assert ResourceSlots.from_json(a.to_json()) == a


@given(limits)
def test_limits_json_round_trip(caps: Limits) -> None:
    assert Limits.from_json(caps.to_json()) == caps


@given(limits, slots, slots)
def test_whatever_fits_in_the_remainder_keeps_usage_within_the_caps(
    caps: Limits, used: ResourceSlots, request: ResourceSlots
) -> None:
    if not caps.allows(used):
        return
    fits_remainder = Limits(caps.remaining(used)).allows(request)
    assert fits_remainder == caps.allows(used + request)


@given(limits, limits, slots)
def test_tightest_allows_only_what_both_allow(a: Limits, b: Limits, usage: ResourceSlots) -> None:
    assert a.tightest(b).allows(usage) == (a.allows(usage) and b.allows(usage))


def test_fits_in_treats_absent_capacity_as_none() -> None:
    request = ResourceSlots({"cpu": 1, "cuda.device": 1})
    assert request.fits_in(ResourceSlots({"cpu": 2, "cuda.device": 1}))
    assert not request.fits_in(ResourceSlots({"cpu": 2}))
    assert ResourceSlots().fits_in(ResourceSlots())


@given(slots, slots)
def test_a_sum_fits_in_itself_and_its_parts_fit_in_it(a: ResourceSlots, b: ResourceSlots) -> None:
    assert a.fits_in(a + b)
    assert (a + b).fits_in(a + b)
