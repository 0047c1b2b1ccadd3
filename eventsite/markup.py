"""Markdown written by organisers, rendered to sanitised HTML or to plain text."""

from __future__ import annotations

import html
import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead",
    "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"}, "td": {"align"}}


# The same descriptions are rendered again and again (an event page, its topic's pages): a
# pure function of the text, so remember the last few hundred (bench: ~5 % of an event page).
@lru_cache(maxsize=256)
def render_markdown(text: str | None) -> Markup:
    if not text:
        return Markup("")
    raw = _md.render(text)
    # Headings inside a description sit below the page's own h1/h2.
    raw = re.sub(r"<(/?)h1>", r"<\1h3>", raw)
    clean = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return Markup(clean)


def markdown_to_text(text: str | None) -> str:
    """Plain text for calendars and emails: the rendered HTML with tags stripped."""
    if not text:
        return ""
    stripped = nh3.clean(_md.render(text), tags=set())
    lines = [html.unescape(line).rstrip() for line in stripped.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
