"""Holes in a cached page: the parts that are someone's own (the account links, the event
page's registration box), so that a logged-in visitor can be served the page kept for
anonymous visitors with their own parts put in.

A template marks a hole with `{% call page_hole("account") %}…{% endcall %}`. While a page
is rendered to be kept (an anonymous miss of a cacheable page), the hole's content is put
between markers; `take` removes them before anything is sent or kept, and gives where each
hole's content stands in the bytes. Nobody ever receives a marker. Other renders (someone
logged in, a page that is not cacheable) never write them.

A package whose part of a page is someone's own says how to draw it for the visitor at
hand, with `page_cache.add_hole(app, name, fill)`: `fill(view_args)` returns the hole's
HTML, as the page's own template would draw it for them. A kept page with a hole nobody
can fill is never served to someone logged in: it is rendered for them instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import g
from markupsafe import Markup

# Markup characters: escaped page content (and sanitised Markdown, which drops unknown
# tags) can never contain them.
_OPENING = "<page-cache:hole "  # then the hole's name and ">"
_END = "</page-cache:hole>"

# (start, end, name): where a hole's content stands in a kept page's bytes.
Hole = tuple[int, int, str]
Fill = Callable[[Mapping[str, Any]], str]


def marking() -> bool:
    """Whether this render is one to keep: set by hooks.serve_from_cache on a miss."""
    return bool(g.get("page_cache_marks_holes"))


def page_hole(name: str, caller: Callable[[], str]) -> Markup:
    """The template global behind `{% call page_hole(name) %}`."""
    content = caller()
    if not marking():
        return Markup(content)
    return Markup(f"{_OPENING}{name}>") + Markup(content) + Markup(_END)


def take(body: bytes) -> tuple[bytes, tuple[Hole, ...]]:
    """The body without markers, and where each hole's content stands in it. (A scan with
    `find`, not a pattern: linear whatever the page holds.)"""
    opening = _OPENING.encode()
    closing = _END.encode()
    parts: list[bytes] = []
    holes: list[Hole] = []
    size = last = 0
    while (begins := body.find(opening, last)) != -1:
        named = body.find(b">", begins)
        ends = body.find(closing, named)
        if named == -1 or ends == -1:
            break
        before, content = body[last:begins], body[named + 1 : ends]
        start = size + len(before)
        holes.append((start, start + len(content), body[begins + len(opening) : named].decode()))
        parts += [before, content]
        size = start + len(content)
        last = ends + len(closing)
    if not holes:
        return body, ()
    parts.append(body[last:])
    return b"".join(parts), tuple(holes)


def fill(body: bytes, holes: tuple[Hole, ...], fills: Mapping[str, bytes]) -> bytes:
    """The body with each hole's content replaced by `fills[name]`."""
    parts: list[bytes] = []
    last = 0
    for start, end, name in holes:
        parts += [body[last:start], fills[name]]
        last = end
    parts.append(body[last:])
    return b"".join(parts)
