"""Resource slots: how much CPU, memory and accelerators a session asks for or a limit allows.

`ResourceSlots` is an immutable mapping from slot name to an exact `Decimal`. A slot that
is absent counts as zero in a request or usage, and as unlimited in a limit (`Limits`).
`UNLIMITED` is `Decimal("Infinity")`, so arithmetic and comparisons need no special cases:
unlimited minus anything is still unlimited, and everything fits under it.

Slot kinds live in a registry (`SLOT_KINDS`) so accelerators can be added with
`register_slot_kind` without touching the scheduler.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from shipyard.errors import InvalidInput
from shipyard.i18n import _, ngettext

UNLIMITED = Decimal("Infinity")
ZERO = Decimal(0)
CPU_STEP = Decimal("0.001")
MEM_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
MAXIMUM = {"cores": Decimal(10**6), "bytes": Decimal(2**62), "devices": Decimal(4096)}
_MEM = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$", re.IGNORECASE)


@dataclass(frozen=True)
class SlotKind:
    """One kind of resource: its name on the wire, how it is counted and shown."""

    name: str
    unit: Literal["cores", "bytes", "devices"]
    label: str
    integral: bool
    accelerator: bool = False
    scale: int = 1  # stored in the ledger as integer amount * scale (exact, any database)


SLOT_KINDS: dict[str, SlotKind] = {}


def register_slot_kind(kind: SlotKind) -> None:
    SLOT_KINDS[kind.name] = kind


register_slot_kind(SlotKind("cpu", "cores", "CPU", integral=False, scale=1000))
register_slot_kind(SlotKind("mem", "bytes", "Memory", integral=True))
register_slot_kind(SlotKind("cuda.device", "devices", "GPU", integral=True, accelerator=True))


def to_units(slot: str, value: Decimal) -> int:
    """The integer the ledger stores for an amount (millicores for cpu, bytes, devices)."""
    kind = SLOT_KINDS.get(slot)
    return int(value * (kind.scale if kind else 1))


def from_units(slot: str, units: int) -> Decimal:
    kind = SLOT_KINDS.get(slot)
    return Decimal(units) / (kind.scale if kind else 1)


def parse_amount(slot: str, text: str) -> Decimal:
    """A user's amount for a slot: cores as decimals, memory with k/m/g/t suffixes, counts."""
    kind = SLOT_KINDS.get(slot)
    if kind is None:
        raise InvalidInput(
            _("Unknown resource: %(slot)s.") % {"slot": slot}, details={"slot": slot}
        )
    raw = text.strip().lower()
    if raw in ("inf", "unlimited", "∞"):
        return UNLIMITED
    value = _parse_mem(raw) if kind.unit == "bytes" else _parse_number(raw)
    if value is None or not value.is_finite() or value < 0:
        raise InvalidInput(_wrong_amount(kind, text), details={"slot": slot})
    return _check_step(kind, value)


def _wrong_amount(kind: SlotKind, text: str) -> str:
    """Why `text` is no amount of `kind`, with an example in the slot's own unit."""
    values = {"name": slot_label(kind.name), "text": text.strip()[:32]}
    if kind.unit == "bytes":
        return _("%(name)s needs a size such as 512m or 4g, not “%(text)s”.") % values
    if kind.unit == "cores":
        return _("%(name)s needs a number of cores such as 2 or 0.5, not “%(text)s”.") % values
    return _("%(name)s needs a whole number such as 0, 1 or 2, not “%(text)s”.") % values


def _parse_number(raw: str) -> Decimal | None:
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


def _parse_mem(raw: str) -> Decimal | None:
    found = _MEM.match(raw)
    if found is None:
        return None
    return (Decimal(found[1]) * MEM_UNITS[found[2].lower()]).to_integral_value()


def _check_step(kind: SlotKind, value: Decimal) -> Decimal:
    name, details = slot_label(kind.name), {"slot": kind.name}
    if value > MAXIMUM[kind.unit]:
        most = show_amount(kind.name, MAXIMUM[kind.unit])
        raise InvalidInput(
            _("%(name)s can be at most %(amount)s.") % {"name": name, "amount": most},
            details=details,
        )
    if kind.integral and value != value.to_integral_value():
        raise InvalidInput(
            _("%(name)s needs a whole number, not %(text)s.")
            % {"name": name, "text": _text(value)},
            details=details,
        )
    if kind.name == "cpu" and value != value.quantize(CPU_STEP):
        raise InvalidInput(
            _("%(name)s takes at most three decimal places, such as 0.125.") % {"name": name},
            details=details,
        )
    return value.normalize() if kind.integral else value


class ResourceSlots(Mapping[str, Decimal]):
    """Amounts per slot; absent slots are zero. Immutable and hashable."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Decimal | int | str] | None = None) -> None:
        clean: dict[str, Decimal] = {}
        for slot, amount in (values or {}).items():
            value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
            if value != ZERO:
                clean[slot] = value
        self._values = clean

    @classmethod
    def parse(cls, pairs: Iterable[str]) -> ResourceSlots:
        """From `slot=amount` strings, as the CLI's `-r cpu=1 -r mem=512m` gives them."""
        values: dict[str, Decimal] = {}
        for pair in pairs:
            slot, sep, text = pair.partition("=")
            if not sep or not slot.strip():
                raise InvalidInput(
                    _("Write resources as slot=amount, for example cpu=2 or mem=4g."),
                    details={"value": pair},
                )
            values[slot.strip()] = parse_amount(slot.strip(), text)
        return cls(values)

    @classmethod
    def from_json(cls, data: Mapping[str, object] | None) -> ResourceSlots:
        """From the wire or the database: {"cpu": "1.5", "mem": "1073741824"} (validated)."""
        return cls({slot: parse_amount(slot, str(text)) for slot, text in (data or {}).items()})

    def to_json(self) -> dict[str, str]:
        return {slot: _text(value) for slot, value in sorted(self._values.items())}

    def __getitem__(self, slot: str) -> Decimal:
        return self._values.get(slot, ZERO)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, slot: object) -> bool:
        return slot in self._values

    def __hash__(self) -> int:
        return hash(frozenset(self._values.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ResourceSlots):
            return self._values == other._values
        return NotImplemented

    def __repr__(self) -> str:
        return f"ResourceSlots({self.to_json()})"

    def __add__(self, other: ResourceSlots) -> ResourceSlots:
        keys = set(self._values) | set(other._values)
        return ResourceSlots({slot: self[slot] + other[slot] for slot in keys})

    def __sub__(self, other: ResourceSlots) -> ResourceSlots:
        keys = set(self._values) | set(other._values)
        return ResourceSlots({slot: self[slot] - other[slot] for slot in keys})

    def scaled(self, factor: int) -> ResourceSlots:
        return ResourceSlots({slot: value * factor for slot, value in self._values.items()})

    def fits_in(self, capacity: ResourceSlots) -> bool:
        """True when every slot is at most the capacity's (absent capacity means none)."""
        return all(self[slot] <= capacity[slot] for slot in self._values)

    def is_zero(self) -> bool:
        return not self._values

    def is_negative(self) -> bool:
        return any(value < ZERO for value in self._values.values())


class Limits(Mapping[str, Decimal]):
    """Caps per slot; an absent slot is unlimited. `limits[slot]` may be UNLIMITED."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Decimal | int | str] | None = None) -> None:
        clean: dict[str, Decimal] = {}
        for slot, amount in (values or {}).items():
            value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
            if value != UNLIMITED:
                clean[slot] = value
        self._values = clean

    @classmethod
    def from_json(cls, data: Mapping[str, object] | None) -> Limits:
        return cls({slot: parse_amount(slot, str(text)) for slot, text in (data or {}).items()})

    def to_json(self) -> dict[str, str]:
        return {slot: _text(value) for slot, value in sorted(self._values.items())}

    def __getitem__(self, slot: str) -> Decimal:
        return self._values.get(slot, UNLIMITED)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Limits):
            return self._values == other._values
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self._values.items()))

    def __repr__(self) -> str:
        return f"Limits({self.to_json()})"

    def is_unlimited(self, slot: str) -> bool:
        return slot not in self._values

    def exceeded_by(self, usage: ResourceSlots) -> list[str]:
        """The slots (sorted) where `usage` is above the cap; empty when it fits."""
        return sorted(slot for slot in usage if usage[slot] > self[slot])

    def allows(self, usage: ResourceSlots) -> bool:
        return not self.exceeded_by(usage)

    def remaining(self, usage: ResourceSlots) -> Limits:
        """What is left under each cap (never below zero); unlimited stays unlimited."""
        return Limits({slot: max(ZERO, cap - usage[slot]) for slot, cap in self._values.items()})

    def tightest(self, other: Limits) -> Limits:
        """The per-slot minimum of two sets of caps."""
        keys = set(self._values) | set(other._values)
        return Limits({slot: min(self[slot], other[slot]) for slot in keys})


def amount_text(value: Decimal) -> str:
    """The exact wire form of an amount: "1.5", "1073741824", or "inf" when unlimited."""
    return _text(value)


def _text(value: Decimal) -> str:
    if value == UNLIMITED:
        return "inf"
    return format(value.normalize(), "f")


def slot_label(slot: str) -> str:
    """A slot's display name in the reader's language: CPU, Memory, GPU."""
    labels = {"cpu": _("CPU"), "mem": _("Memory"), "cuda.device": _("GPU")}
    kind = SLOT_KINDS.get(slot)
    return labels.get(slot, kind.label if kind else slot)


def show_amount(slot: str, value: Decimal) -> str:
    """An amount as a person reads it, in the slot's unit with its plural: "1 core",
    "0.5 cores", "512 MiB", "2 GPUs"; "unlimited" when no cap applies."""
    if value == UNLIMITED:
        return _("unlimited")
    return with_unit(slot, humanize(slot, value), value)


def with_unit(slot: str, shown: str, value: Decimal) -> str:
    """`shown` (a figure, or "used / total") followed by the slot's unit, plural by `value`.

    Memory's figures carry their unit already (humanize gives "512 MiB")."""
    kind = SLOT_KINDS.get(slot)
    many = 1 if value == 1 else 2  # 0.5 cores, 0 cores, 1 core: English counts only 1 as one
    if kind is not None and kind.unit == "cores":
        return ngettext("%(n)s core", "%(n)s cores", many) % {"n": shown}
    if kind is not None and kind.accelerator:
        return ngettext("%(n)s GPU", "%(n)s GPUs", many) % {"n": shown}
    return shown


def humanize(slot: str, value: Decimal) -> str:
    """A short display: '1.5' cores, '512 MiB', '2' GPUs, '∞' when unlimited."""
    if value == UNLIMITED:
        return "∞"
    kind = SLOT_KINDS.get(slot)
    if kind is not None and kind.unit == "bytes":
        return _bytes(value)
    return format(value.normalize(), "f")


def _bytes(value: Decimal) -> str:
    amount = value
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(amount) < 1024 or unit == "TiB":
            text = format(amount.quantize(Decimal("0.1")).normalize(), "f")
            return f"{text} {unit}"
        amount /= 1024
    return f"{value} B"
