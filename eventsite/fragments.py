"""`{% kept key, ... %}…{% endkept %}`: a piece of a template rendered once per key and
language while the catalogue stays the same (the event page: all but its registration box).
`{% kept always key %}`: the same for the life of the process; `{% kept here key %}`: per
address (the links of this page in each language, say).

Shared infrastructure, like the page cache: what a kept piece shows must move the catalogue
version (`catalogue.track`), and anything else it shows (the clock, the visitor, a
registration count) must stay outside it. After the pattern of Jinja's documented
fragment-cache extension; the values live in a `catalogue.VersionedMemo` per process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, request
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser

from eventsite import catalogue
from eventsite.i18n import current_code

_kept: catalogue.VersionedMemo[str] = catalogue.VersionedMemo(max_entries=4096)
# Pieces kept per query string have memos of their own: a crawl through every combination of
# filters fills (and empties) those, never the cards and event pages kept beside them.
_per_query: dict[str, catalogue.VersionedMemo[str]] = {
    "filters": catalogue.VersionedMemo(max_entries=1024),
    "subscribe": catalogue.VersionedMemo(max_entries=1024),
}


def _memo(name: Any) -> catalogue.VersionedMemo[str]:
    return _per_query.get(name, _kept) if isinstance(name, str) else _kept


# `{% kept always "name" %}`: a piece that shows nothing of the catalogue (the layout's
# links), kept per language for the life of the process and read without the database (an
# error page draws it when the database does not answer). A few per template, at most.
_always: dict[tuple[Any, ...], str] = {}
MAX_ALWAYS = 64


# `{% kept here "name" %}`: a piece made of nothing but this address's links (the language
# switcher, the alternates, the log-in link that comes back here), kept per address, method
# and language for the life of the process: at most MAX_HERE of them, then they start again.
_here: dict[tuple[Any, ...], str] = {}
MAX_HERE = 1024


class KeptFragments(Extension):
    tags = {"kept"}

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        if parser.stream.skip_if("name:always"):
            method = "_render_always"
        elif parser.stream.skip_if("name:here"):
            method = "_render_here"
        else:
            method = "_render"
        parts = [parser.parse_expression()]
        while parser.stream.skip_if("comma"):
            parts.append(parser.parse_expression())
        body = parser.parse_statements(("name:endkept",), drop_needle=True)
        call = self.call_method(method, [nodes.List(parts)])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _render(self, parts: list[Any], caller: Callable[[], str]) -> str:
        key = (self.environment, *parts, current_code())
        return _memo(parts[0]).get(catalogue.request_stamp(), key, caller)

    def _render_always(self, parts: list[Any], caller: Callable[[], str]) -> str:
        key = (self.environment, *parts, current_code())
        kept = _always.get(key)
        if kept is None:
            kept = caller()
            if len(_always) < MAX_ALWAYS:
                _always[key] = kept
        return kept

    def _render_here(self, parts: list[Any], caller: Callable[[], str]) -> str:
        key = (self.environment, *parts, *_address(request.environ), current_code())
        kept = _here.get(key)
        if kept is None:
            kept = caller()
            if len(_here) >= MAX_HERE:
                _here.clear()
            _here[key] = kept
        return kept


def is_kept(*parts: Any) -> bool:
    """Whether `{% kept parts... %}` is kept for this request's catalogue version and
    language: a view may then leave out reading what only that piece shows."""
    key = (current_app.jinja_env, *parts, current_code())
    return _memo(parts[0]).peek(catalogue.request_stamp(), key) is not None


def clear() -> None:
    _kept.clear()
    for memo in _per_query.values():
        memo.clear()
    _always.clear()
    _here.clear()


def _address(environ: dict[str, Any]) -> tuple[Any, ...]:
    """The request's method and address as the WSGI server gave them (what `request.url`
    is made of, read without making it: decoding it as an IRI was ~2.5 % of a rendered
    listing's time in a gunicorn worker). After any proxy fix, like the links a piece holds."""
    return tuple(environ.get(name) for name in _ADDRESS)


_ADDRESS = (
    "REQUEST_METHOD",
    "wsgi.url_scheme",
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
)
