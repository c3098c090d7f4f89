"""Reading and showing a policy's limits: counts, durations, sizes and per-slot amounts.

Every limit is a value or unlimited, except the scratch size: a value or the site default.
The readers accept what people type (an empty text, "unlimited", "inf" or "∞" for unlimited;
`16g` for sizes; `8h` for durations) and raise `InvalidInput` whose details name the field,
so a form can show the error next to it.
"""

from __future__ import annotations

import re
from decimal import Decimal

from shipyard.errors import InvalidInput
from shipyard.i18n import _
from shipyard.resources.slots import SLOT_KINDS, UNLIMITED, humanize, parse_amount, show_amount

UNLIMITED_WORDS = frozenset({"", "unlimited", "inf", "∞", "none"})
MAX_COUNT = 1_000_000
MAX_SECONDS = 10 * 365 * 86400
MAX_BYTES = 2**62
MIN_SCRATCH = 16 * 2**20
MIN_LOG = 64 * 2**10
DEFAULT_WORDS = frozenset({"", "default", "none"})
SIZE_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}
DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$")
_DURATION = re.compile(r"^(\d+)\s*([smhdw]?)$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def name_rule() -> str:
    return _(
        "1 to 64 characters: letters, digits, dot, underscore and hyphen, "
        "starting with a letter or digit."
    )


def name(field: str, value: object) -> str:
    """A project or policy name, checked against name_rule()."""
    text = str(value).strip() if isinstance(value, str) else ""
    if not NAME.fullmatch(text):
        raise _refuse(field, name_rule())
    return text


def is_unlimited(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in UNLIMITED_WORDS)


def _refuse(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, details={"field": field})


def count(field: str, value: object) -> int | None:
    """A whole number of sessions or folders, None when unlimited."""
    if is_unlimited(value):
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"\d+", text) or int(text) > MAX_COUNT:
        raise _refuse(
            field,
            _("Enter a whole number from 0 to %(max)d, or leave it empty for unlimited.")
            % {"max": MAX_COUNT},
        )
    return int(text)


def duration(field: str, value: object) -> int | None:
    """Seconds from `90`, `30m`, `8h`, `2d` or `1w`; None when unlimited."""
    if is_unlimited(value):
        return None
    found = _DURATION.match(str(value).strip().lower())
    if isinstance(value, bool) or found is None:
        raise _refuse(
            field,
            _("Enter a duration such as 90s, 30m, 8h or 2d, or leave it empty for unlimited."),
        )
    seconds = int(found[1]) * DURATION_UNITS[found[2]]
    if seconds > MAX_SECONDS:
        raise _refuse(field, _("That is longer than ten years."))
    return seconds


def size(field: str, value: object) -> int | None:
    """Bytes from `1048576`, `512m`, `16g` or `1.5t` (binary units); None when unlimited."""
    if is_unlimited(value):
        return None
    return _bytes(
        field,
        value,
        wrong=_("Enter a size such as 500m, 16g or 2t, or leave it empty for unlimited."),
    )


def scratch(field: str, value: object) -> int | None:
    """Bytes of a session's in-memory /tmp, at least 16 MiB; None: the site default.

    It cannot be unlimited (it is memory), so only an empty text or "default" means None.
    """
    return _size_or_default(
        field,
        value,
        least=MIN_SCRATCH,
        wrong=_("Enter a size such as 512m or 2g, or leave it empty for the site default."),
        small=_("Scratch space must be at least 16m."),
    )


def log_size(field: str, value: object) -> int | None:
    """Bytes of each session's output the manager keeps, at least 64 KiB; None: the site
    default (only an empty text or "default": a copy without end would fill the database)."""
    return _size_or_default(
        field,
        value,
        least=MIN_LOG,
        wrong=_("Enter a size such as 512k or 16m, or leave it empty for the site default."),
        small=_("The kept output must be at least 64k."),
    )


def _size_or_default(
    field: str, value: object, *, least: int, wrong: str, small: str
) -> int | None:
    """A size of at least `least` bytes, or None for the site default (never unlimited)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in DEFAULT_WORDS):
        return None
    amount = _bytes(field, value, wrong=wrong)
    if amount < least:
        raise _refuse(field, small)
    return amount


def _bytes(field: str, value: object, *, wrong: str) -> int:
    """Bytes from a number or a text with a binary unit; `wrong` is the message otherwise."""
    found = _SIZE.match(str(value).strip().lower())
    if isinstance(value, bool) or found is None:
        raise _refuse(field, wrong)
    amount = int((Decimal(found[1]) * SIZE_UNITS[found[2]]).to_integral_value())
    if amount > MAX_BYTES:
        raise _refuse(field, _("That size is too large."))
    return amount


def slot_limit(slot: str, value: object) -> Decimal:
    """One slot's cap (UNLIMITED when empty); unknown slots and bad amounts are refused."""
    field = f"slots.{slot}"
    if slot not in SLOT_KINDS:
        raise _refuse(field, _("Unknown resource: %(slot)s.") % {"slot": slot})
    if is_unlimited(value):
        return UNLIMITED
    try:
        return parse_amount(slot, str(value))
    except InvalidInput as exc:
        raise _refuse(field, exc.message) from exc


def show_duration(seconds: int | None) -> str:
    """`8h`, `90m`, `45s`; empty when unlimited (forms) — lists show "∞" themselves."""
    if seconds is None:
        return ""
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % DURATION_UNITS[unit] == 0:
            return f"{seconds // DURATION_UNITS[unit]}{unit}"
    return f"{seconds}s"


def show_size(amount: int | None) -> str:
    """`16g`, `512m`, `1000`; empty when unlimited. Reads back through size()."""
    if amount is None:
        return ""
    for unit in ("p", "t", "g", "m", "k"):
        if amount and amount % SIZE_UNITS[unit] == 0:
            return f"{amount // SIZE_UNITS[unit]}{unit}"
    return str(amount)


def show_slot(slot: str, value: Decimal) -> str:
    """A slot's cap as a form shows it: `2`, `16g`; empty when unlimited."""
    if value == UNLIMITED:
        return ""
    kind = SLOT_KINDS.get(slot)
    if kind is not None and kind.unit == "bytes":
        return show_size(int(value))
    return format(value.normalize(), "f")


def display_slot(slot: str, value: Decimal) -> str:
    """A slot's cap as lists show it, in its unit: `2 cores`, `16 GiB`, `1 GPU`, `∞`."""
    if value == UNLIMITED:
        return "∞"
    return show_amount(slot, value)


def display_size(amount: int | None) -> str:
    """A size as lists show it: `1 MiB`, `16 GiB` (never `1m`, which reads as minutes)."""
    return "∞" if amount is None else humanize("mem", Decimal(amount))


def display_duration(seconds: int | None) -> str:
    """A duration as lists show it: `8 h`, `30 min`, `2 d`, `45 s`; `∞` when unlimited."""
    if seconds is None:
        return "∞"
    units = ((86400, _("%(n)d d")), (3600, _("%(n)d h")), (60, _("%(n)d min")))
    for size, text in units:
        if seconds and seconds % size == 0:
            return text % {"n": seconds // size}
    return _("%(n)d s") % {"n": seconds}


def display_folders(count: int | None, size: int | None) -> str:
    """The folder limits in one cell: `3, up to 1 MiB each`, `∞, up to 2 GiB each`, `3`."""
    shown = "∞" if count is None else str(count)
    if size is None:
        return shown
    return _("%(count)s, up to %(size)s each") % {"count": shown, "size": display_size(size)}
