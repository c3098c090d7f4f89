"""Announcement Markdown: formatting works, anything that could run script is inert."""

from __future__ import annotations

import pytest

from shipyard.announcements.markdown import key_of, render


def test_markdown_formats() -> None:
    html = str(render("**Maintenance** on *Friday*:\n\n- agents\n- storage"))
    assert "<strong>Maintenance</strong>" in html
    assert "<em>Friday</em>" in html
    assert "<li>agents</li>" in html


@pytest.mark.parametrize(
    "message",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">click</a>',
        "<div onclick=alert(1)>raw html</div>",
        "<iframe src=https://example.org></iframe>",
    ],
)
def test_raw_html_is_shown_as_text(message: str) -> None:
    html = str(render(message))
    assert "<script" not in html
    assert "<img" not in html
    assert "<a " not in html
    assert "<div" not in html
    assert "<iframe" not in html
    assert "&lt;" in html  # the text is still there, escaped


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "file:///etc/passwd",
        "ftp://example.org/x",
        "%6Aavascript:alert(1)",
    ],
)
def test_links_to_unsafe_schemes_are_not_links(target: str) -> None:
    html = str(render(f"[click]({target})"))
    assert "<a" not in html
    assert "href" not in html  # shown as the text the admin typed, inert


@pytest.mark.parametrize(
    "target", ["https://example.org/a?b=1", "http://example.org", "mailto:ops@example.org"]
)
def test_safe_links_open_without_a_handle_on_the_console(target: str) -> None:
    html = str(render(f"[docs]({target})"))
    assert f'href="{target.replace("&", "&amp;")}"' in html
    assert 'rel="noopener noreferrer"' in html


def test_images_do_not_load_remote_content() -> None:
    html = str(render("![tracker](https://example.org/pixel.png)"))
    assert "<img" not in html


def test_attribute_injection_through_a_link_title_is_escaped() -> None:
    html = str(render('[x](https://example.org "a\\" onmouseover=\\"alert(1)")'))
    assert 'onmouseover="' not in html
    assert "&quot;" in html


def test_the_dismissal_key_changes_with_the_message() -> None:
    assert key_of("one") == key_of("one")
    assert key_of("one") != key_of("two")
    assert render("same") is render("same")  # cached
