"""Announcement Markdown to HTML: CommonMark with raw HTML off and links kept safe.

Raw HTML in the message is shown as text; images are off (no remote content on every page);
absolute links may only use http, https or mailto (on top of markdown-it's validateLink,
which refuses javascript:, vbscript:, file: and data:), relative links stay on this site;
every link gets rel="noopener noreferrer". The result is cached per message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

SAFE_SCHEMES = ("http:", "https:", "mailto:")


def _safe_link(url: str) -> bool:
    """Absolute links only to the safe schemes; relative links (no scheme) stay on this site."""
    lowered = url.strip().lower()
    scheme, colon, _rest = lowered.partition(":")
    if not colon or "/" in scheme or "?" in scheme or "#" in scheme:
        return True
    return lowered.startswith(SAFE_SCHEMES)


def _link_open(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    index: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    tokens[index].attrSet("rel", "noopener noreferrer")
    return renderer.renderToken(tokens, index, options, env)


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")
    default_validate = parser.validateLink
    parser.validateLink = lambda url: default_validate(url) and _safe_link(url)  # type: ignore[method-assign]
    parser.add_render_rule("link_open", _link_open)
    return parser


_PARSER = _parser()


@lru_cache(maxsize=32)
def render(message: str) -> Markup:
    """The message as safe HTML (the banner and the editor's preview use exactly this)."""
    html: str = _PARSER.render(message)
    return Markup(html)  # noqa: S704 - markdown-it escapes text; raw HTML is disabled


def key_of(message: str) -> str:
    """A short hash of the message: a dismissal remembers it, so a new message shows again."""
    return hashlib.sha256(message.encode()).hexdigest()[:16]
