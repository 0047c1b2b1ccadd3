"""A per-process cache of the rendered listing and event pages for anonymous visitors.

An entry is keyed by the catalogue version (bumped in the transaction of every change to
what the pages show), the address (with the host: event pages carry absolute links), the
locale and a 60-second time bucket (the "upcoming" set and registration opening/closing
change as time passes, without any write). A listing hit costs one primary-key query.

An event page also shows live registration numbers, so its key adds the event's
registration counts by status (one grouped, index-only query): any registration,
cancellation, approval or promotion changes it. Its share form carries the visitor's CSRF
token: the stored body holds a sentinel in its place, and each hit gets the visitor's own.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request, session
from flask.globals import request_ctx
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.engine import Connection

from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.ical import catalogue
from eventsite.registration.models import Registration, RegistrationStatus

EVENT_ENDPOINT = "events.detail"
CACHED_ENDPOINTS = frozenset(
    {"events.home", "events.listing", "events.topic", "events.organisation", EVENT_ENDPOINT}
)
BUCKET_SECONDS = 60
MAX_BYTES = 64 * 1024 * 1024  # the whole cache, per process
MAX_ENTRY_BYTES = 1024 * 1024  # a page larger than this is not kept
HEADER = "X-Page-Cache"
# Headers that belong to one response, not to the page: left out of what is stored.
UNSTORED_HEADERS = frozenset(
    {"content-length", "set-cookie", "date", "retry-after", HEADER.lower()}
)
EXTENSION = "page_cache"
# Built once: the statement is immutable, and building it costs as much as running it.
STAMP_QUERY = catalogue.stamp_query()
# Where the visitor's CSRF token goes in a stored body. Markup characters: escaped page
# content can never contain it (and a page that does anyway is not stored).
CSRF_SENTINEL = b"<page-cache:csrf-token>"


def event_stamp_query() -> Select:
    """The catalogue version and an event's registrations counted by status, found by
    slug, in one row: an aggregate without GROUP BY always answers one row, even for an
    event nobody has registered for yet. Reads the (event_id, status, created_at) index."""
    registrations = Registration.__table__
    versions = catalogue.CatalogueVersion.__table__
    event_id = select(Event.__table__.c.id).where(Event.__table__.c.slug == bindparam("slug"))
    version = (
        select(versions.c.version)
        .where(versions.c.id == catalogue.CATALOGUE_ROW_ID)
        .scalar_subquery()
    )
    return select(
        version,
        *(func.count().filter(registrations.c.status == status) for status in RegistrationStatus),
    ).where(registrations.c.event_id == event_id.scalar_subquery())


EVENT_STAMP_QUERY = event_stamp_query()

# (catalogue version, registration counts, address, locale, bucket); tests build others.
Key = tuple[Hashable, ...]


def clock() -> float:
    """Seconds for the time buckets; tests replace this function."""
    return time.monotonic()


@dataclass(frozen=True)
class Page:
    body: bytes
    headers: tuple[tuple[str, str], ...]
    has_csrf_token: bool = False  # CSRF_SENTINEL stands where the token goes


class PageCache:
    """A thread-safe LRU bounded by entry count and total body bytes."""

    def __init__(self, max_entries: int, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._pages: OrderedDict[Key, Page] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: Key) -> Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return page

    def put(self, key: Key, page: Page) -> None:
        size = len(page.body)
        if self.max_entries <= 0 or size > min(self.max_bytes, MAX_ENTRY_BYTES):
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self.bytes -= len(old.body)
            self._pages[key] = page
            self.bytes += size
            while len(self._pages) > self.max_entries or self.bytes > self.max_bytes:
                _, evicted = self._pages.popitem(last=False)
                self.bytes -= len(evicted.body)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self.bytes = 0


def register(bp: Blueprint) -> None:
    """Serve hits before any other work of the request; keep misses once rendered."""
    bp.record_once(lambda state: init_app(state.app))
    bp.after_app_request(store_in_cache)


def init_app(app: Flask) -> None:
    if not app.config.get("PAGE_CACHE_ENABLED", True):
        return
    app.extensions[EXTENSION] = PageCache(int(app.config.get("PAGE_CACHE_MAX_ENTRIES", 512)))
    # First of all before-request work: a hit needs nothing else (these pages carry no rate
    # limit; POSTs, where limits and CSRF checks apply, are never served from here).
    app.before_request_funcs.setdefault(None, []).insert(0, serve_from_cache)


def cache_for(app: Flask) -> PageCache | None:
    return app.extensions.get(EXTENSION)


def _is_anonymous() -> bool:
    # Without loading the user: a user id in the session or a remember-me cookie means
    # someone may be logged in, and their page carries their name.
    remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return "_user_id" not in session and remember not in request.cookies


def _request_key() -> Key | None:
    if request.method not in ("GET", "HEAD") or request.endpoint not in CACHED_ENDPOINTS:
        return None
    # Flash messages waiting for this visitor: render them (once), never from the cache.
    if not _is_anonymous() or "_flashes" in session:
        return None
    # On a pooled connection rather than the request's ORM session: a hit then never
    # opens (and tears down) a session, which is half of what a hit costs. The reads end
    # before the page's queries begin.
    with db.engine.connect() as connection:
        if request.endpoint == EVENT_ENDPOINT:
            slug = str((request.view_args or {}).get("slug"))
            row = connection.execute(EVENT_STAMP_QUERY, {"slug": slug}).one()
            version, registrations = int(row[0] or 0), tuple(row[1:])
        else:
            version, registrations = _catalogue_version(connection), ()
    address = request.full_path if request.query_string else request.path
    # The host too: absolute links (canonical, share) are built from it. (Not
    # `request.host_url`: it costs a tenth of a hit.)
    where = f"{request.endpoint} {request.scheme}://{request.host}{request.script_root}{address}"
    bucket = int(clock() // BUCKET_SECONDS)
    return (version, registrations, where, str(get_locale() or ""), bucket)


def _catalogue_version(connection: Connection) -> int:
    row = connection.execute(STAMP_QUERY).first()
    return catalogue.to_stamp(*row).version if row is not None else 0


def serve_from_cache() -> Response | None:
    cache = cache_for(current_app)
    if cache is None:
        return None
    key = _request_key()
    if key is None:
        return None
    # The version was read before the page: a change committed meanwhile can only put
    # newer content under an older key, never stale content under the new one.
    g.page_cache_key = key
    page = cache.get(key)
    if page is None:
        # What the session held before the render, to see what the render changed.
        g.page_cache_session = dict(session)
        return None
    g.page_cache_hit = True
    body = page.body
    if page.has_csrf_token:
        # This visitor's own token, put in their session as a render would.
        body = body.replace(CSRF_SENTINEL, generate_csrf().encode())
    return Response(body, status=200, headers=list(page.headers))


def store_in_cache(response: Response) -> Response:
    key: Key | None = g.pop("page_cache_key", None)
    session_before: dict[str, Any] = g.pop("page_cache_session", {})
    if key is None:
        return response
    if g.pop("page_cache_hit", False):
        response.headers[HEADER] = "hit"
        return response
    response.headers[HEADER] = "miss"
    cache = cache_for(current_app)
    if cache is None or not _is_shareable(response, session_before):
        return response
    body = _without_csrf_token(response.get_data())
    if body is None:
        return response
    headers = tuple(
        (name, value)
        for name, value in response.headers.items()
        if name.lower() not in UNSTORED_HEADERS and not name.lower().startswith("x-ratelimit")
    )
    cache.put(key, Page(body, headers, has_csrf_token=CSRF_SENTINEL in body))
    return response


def _csrf_field() -> str:
    return str(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))


def _without_csrf_token(body: bytes) -> bytes | None:
    """The body with this request's CSRF token replaced by the sentinel; None when it
    cannot be stored safely."""
    token = g.get(_csrf_field())
    if not token:
        return body
    if CSRF_SENTINEL in body:  # the page itself contains it: a hit could not tell
        return None
    body = body.replace(str(token).encode(), CSRF_SENTINEL)
    # The raw session secret is never rendered; if it ever were, the page is this visitor's.
    raw = session.get(_csrf_field())
    if raw and str(raw).encode() in body:
        return None
    return body


def _is_shareable(response: Response, session_before: Mapping[str, Any]) -> bool:
    """Only a page with nothing of this visitor in it: no cookie being set, no flash
    shown, no session change other than a new CSRF token (which store_in_cache takes
    out of the body) or the freshness mark."""
    if response.status_code != 200 or response.is_streamed or response.direct_passthrough:
        return False
    if "Set-Cookie" in response.headers or request_ctx.flashes:
        return False
    if session.modified:
        # Flask-Login's session protection marks a non-empty session without a user as
        # not fresh: nothing the page shows.
        allowed = {_csrf_field(), "_fresh"}
        after = {name: value for name, value in session.items() if name not in allowed}
        before = {name: value for name, value in session_before.items() if name not in allowed}
        if after != before:
            return False
    return True
