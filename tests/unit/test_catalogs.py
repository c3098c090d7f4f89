"""Every UI string is extracted, and the Korean catalog translates all of them."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "src" / "shipyard" / "locale"


def source_messages() -> set[str]:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    keywords = {"_": None, "ngettext": (1, 2)}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as handle:
        return read_po(handle)


def test_the_template_is_up_to_date_with_the_source() -> None:
    template = {
        m.id if isinstance(m.id, str) else m.id[0] for m in catalog(LOCALE / "messages.pot") if m.id
    }
    missing = source_messages() - template
    assert not missing, f"run `make messages`: {sorted(missing)[:5]}"


def test_korean_translates_every_message() -> None:
    korean = catalog(LOCALE / "ko" / "LC_MESSAGES" / "messages.po")
    template_ids = {m.id for m in catalog(LOCALE / "messages.pot") if m.id}
    untranslated = [
        m.id
        for m in korean
        if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, tuple) else [m.string]))
    ]
    assert untranslated == []
    assert template_ids <= {m.id for m in korean if m.id}
