"""Plain text from terminal output: control codes gone, overwrites applied as a reader sees them."""

from __future__ import annotations

import pytest

from shipyard.sessions.plain import plain_text


@pytest.mark.parametrize(
    ("output", "plain"),
    [
        ("\x1b[31mred\x1b[0m \x1b[1;38;5;208mbold\x1b[m\n", "red bold\n"),
        ("\x1b[?2004h$ ls\r\n\x1b[?2004l", "$ ls\n"),
        ("\x1b[H\x1b[2Jcleared\n", "cleared\n"),
        ("a\x1b]0;user@host: ~\x07b\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\n", "ablink\n"),
        ("loading 10%\rloading 100%\n", "loading 100%\n"),
        ("long line\rshort\n", "shortline\n"),
        ("x\r\x1b[2Kdone\n", "done\n"),
        ("abc\b\bX\n", "aXc\n"),
        ("tab\there\n", "tab     here\n"),
        ("\x1b(B\x0fok\x07\n", "ok\n"),
        ("한국어 \x1b[32m색\x1b[0m\n", "한국어 색\n"),
        ("no newline at the end", "no newline at the end"),
        ("cut in a sequence \x1b[3", "cut in a sequence"),
    ],
)
def test_plain_text(output: str, plain: str) -> None:
    assert plain_text(output) == plain


def test_no_control_character_survives_and_a_stray_sequence_keeps_the_next_lines() -> None:
    noisy = "".join(chr(c) for c in range(0x20)) + "A\x1b[B\x1b]C\n\x9b31mD\x7fE\x9dF\nnext\n"
    plain = plain_text(noisy)
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in plain)
    assert plain.endswith("next\n")
