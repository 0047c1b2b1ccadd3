"""What a cached page's key and ETags are made of: the app's rules (which endpoints, which
stamp parts), the stamp read in one statement, the address, the locale, the time bucket."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy import Select, select
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request

from eventsite import compression

BUCKET_SECONDS = 60
RULES = "page_cache.rules"  # app.extensions: the app's Rules
MARK = "page_cache_cacheable"  # the attribute @cacheable sets on a view function
# Seconds a shared cache may answer from its copy without asking (PAGE_CACHE_SHARED_MAX_AGE).
SHARED_MAX_AGE = 10
PRIVATE = "private, no-store"

# Returns SQL expressions worth one value each; called once per endpoint, read per request.
StampPart = Callable[[], Iterable[Any]]
# (stamp values, address, locale, bucket); tests build others.
Key = tuple[Hashable, ...]
View = TypeVar("View", bound=Callable[..., Any])


def clock() -> float:
    """Seconds for the time buckets: the wall clock, so that every process and server
    draws the same buckets (and gives a page the same ETag). Tests replace this function."""
    return time.time()


@dataclass
class Rules:
    """One app's cacheable pages and what their keys read."""

    app: Flask
    common: list[StampPart] = field(default_factory=list)  # every page's stamp
    by_endpoint: dict[str, list[StampPart]] = field(default_factory=dict)
    shared_max_age: int = SHARED_MAX_AGE
    # Content-Encodings each page is also kept in (none when COMPRESSION_ENABLED is false).
    encodings: tuple[str, ...] = ()
    # How to draw each hole's content for the visitor at hand (page_cache.add_hole).
    holes: dict[str, Callable[[Mapping[str, Any]], str]] = field(default_factory=dict)
    _statements: dict[str, Select | None] = field(default_factory=dict)

    @cached_property
    def endpoints(self) -> frozenset[str]:
        """The endpoints whose views are marked @cacheable, read when first needed (by
        then every view is known)."""
        views = self.app.view_functions.items()
        return frozenset(name for name, view in views if getattr(view, MARK, False))

    @cached_property
    def public_cache_control(self) -> str:
        if self.shared_max_age <= 0:
            return "public, no-cache"
        return f"public, max-age=0, s-maxage={self.shared_max_age}, must-revalidate"

    def stamp_parts(self, endpoint: str) -> tuple[StampPart, ...]:
        """What the endpoint's stamp is made of: the same functions in every app."""
        return (*self.common, *self.by_endpoint.get(endpoint, ()))

    def statement(self, endpoint: str) -> Select | None:
        """One select of every stamp part of the page, built once: building the statement
        costs as much as running it."""
        try:
            return self._statements[endpoint]
        except KeyError:
            parts = [*self.common, *self.by_endpoint.get(endpoint, ())]
            columns = [column for part in parts for column in part()]
            stmt = select(*columns) if columns else None
            self._statements[endpoint] = stmt
            return stmt


def rules_for(app: Flask) -> Rules:
    rules = app.extensions.get(RULES)
    if rules is None:
        rules = app.extensions[RULES] = Rules(app)
    return rules


# Reads a statement's rows with parameters, the statement built (once) by a function and
# named by a key: `database.read_directly`, which the Flask side passes where it may.
StampReader = Callable[[Hashable, Callable[[], Select], Mapping[str, Any]], Sequence[Any]]


def page_key(
    engine: Engine,
    rules: Rules,
    req: Request,
    endpoint: str,
    view_args: Mapping[str, Any],
    locale: str,
    *,
    read: StampReader | None = None,
) -> Key:
    """The key of a cacheable page: what it shows has not changed while this stays equal.
    The stamp is read before the page's own queries: a change committed meanwhile can only
    put newer content under an older key, never stale content under the new one. `read`:
    how to read it (else on a connection of its own from `engine`)."""
    stmt = rules.statement(endpoint)
    stamp: tuple[Any, ...] = ()
    # A URL part with a NUL names nothing (the view answers 404) and PostgreSQL refuses it.
    if stmt is not None and not any("\x00" in str(value) for value in view_args.values()):
        if read is not None:
            rows = read(
                ("page-stamp", endpoint, rules.stamp_parts(endpoint)), lambda: stmt, view_args
            )
            (row,) = rows
            stamp = tuple(row)
        else:
            # On a pooled connection rather than the request's ORM session: a hit then
            # never opens (and tears down) a session, which is half of what a hit costs.
            with engine.connect() as connection:
                stamp = tuple(connection.execute(stmt, dict(view_args)).one())
    address = req.full_path if req.query_string else req.path
    # The host too: absolute links (canonical, share) are built from it. (Not
    # `request.host_url`: it costs a tenth of a hit.)
    where = f"{endpoint} {req.scheme}://{req.host}{req.script_root}{address}"
    bucket = int(clock() // BUCKET_SECONDS)
    return (stamp, where, locale, bucket)


def etag_for(key: Key, encoding: str | None = None) -> str:
    """A strong ETag from the key alone: the same in every process for the same page, so
    any worker can answer a conditional request without having the page. Each encoding of
    the page has its own (`"…-br"`, `"…-gzip"`): their bytes differ."""
    return _tag(hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest(), encoding)


def _tag(digest: str, encoding: str | None) -> str:
    return f'"{digest}-{encoding}"' if encoding else f'"{digest}"'


def held_etag(if_none_match: str | None, key: Key) -> str | None:
    """Which of this page's ETags the visitor holds (its copy, in that encoding, is still
    the page), or None. Weak comparison, as If-None-Match wants: our tags are quoted hex,
    found with or without a W/ (a compressing proxy adds one). Only a tag we gave is
    honoured (not `*`): we give tags to public pages only, and so never answer a private
    page's request with a public 304."""
    # Most requests carry none: no tag computed.
    if not if_none_match:
        return None
    digest = etag_for(key)[1:-1]
    if digest not in if_none_match:
        return None
    for encoding in (None, *compression.ENCODINGS):
        etag = _tag(digest, encoding)
        if etag in if_none_match:
            return etag
    return None


def public_headers(rules: Rules, etag: str, *, vary: str) -> list[tuple[str, str]]:
    """What a page that is the same for every anonymous visitor is sent with. `vary`:
    i18n.vary_header, "Accept-Language, Cookie" unless `?lang=` chose the language; the
    encoding is added when pages are kept compressed."""
    return [
        ("Cache-Control", rules.public_cache_control),
        ("ETag", etag),
        ("Vary", f"{vary}, Accept-Encoding" if rules.encodings else vary),
    ]
