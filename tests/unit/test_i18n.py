"""Language negotiation and the Korean catalog."""

from __future__ import annotations

import pytest

from shipyard.i18n import _, current_language, negotiate, set_language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ko-KR,ko;q=0.9,en-US;q=0.8", "ko"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR, ko;q=0.5", "ko"),
        ("fr-FR", "en"),
        ("", "en"),
        (None, "en"),
        ("ko;q=oops, en", "en"),
        ("*", "en"),
    ],
)
def test_accept_language_picks_a_supported_language(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_korean_catalog_translates_ui_strings() -> None:
    set_language("ko")
    try:
        assert _("Log in") == "로그인"
        assert _("Incorrect email or password.") != "Incorrect email or password."
    finally:
        set_language("en")
    assert _("Log in") == "Log in"


def test_unsupported_languages_fall_back_to_english() -> None:
    set_language("xx")
    assert current_language() == "en"
