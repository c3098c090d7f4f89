"""Session output read in chunks never cuts a character in two."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shipyard.sessions.logs import utf8_boundary


@given(st.text(min_size=1, max_size=50), st.integers(min_value=0, max_value=200))
def test_chunks_reassemble_to_the_same_text(text: str, cut: int) -> None:
    raw = text.encode("utf-8")
    first = raw[: cut % (len(raw) + 1)]
    keep = utf8_boundary(first)
    rest = first[keep:] + raw[len(first) :]
    assert first[:keep].decode("utf-8") + rest.decode("utf-8") == text


def test_a_cut_korean_character_waits_for_the_next_chunk() -> None:
    raw = "안녕".encode()
    assert utf8_boundary(raw[:4]) == 3
    assert utf8_boundary(raw) == 6
    assert utf8_boundary(b"abc") == 3
