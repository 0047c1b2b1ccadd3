"""A per-process cache of the rendered listing and event pages for anonymous visitors.

Hits are served at two places. A GET or HEAD that carries no cookie at all (a first visit,
a link followed from elsewhere, a crawler) is answered by `FirstVisitFastPath`, a WSGI
middleware, before Flask builds a request: it matches the URL with the app's own map, reads
the stamp, and returns the stored bytes. Anything else (a session cookie, a page that needs
the visitor's CSRF token) goes on to Flask, where `serve_from_cache` runs first of all
before-request work, and a miss renders and is kept by `store_in_cache`.

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
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from babel import Locale
from flask import Blueprint, Flask, Response, current_app, g, request, session
from flask.globals import request_ctx
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.engine import Connection, Engine
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

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
# Where the fast path leaves the key it computed for a request it passes on to Flask.
ENVIRON_KEY = "eventsite.page_cache_key"
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
    app.wsgi_app = FirstVisitFastPath(app, app.wsgi_app)  # type: ignore[method-assign]


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
    known = request.environ.get(ENVIRON_KEY)  # the fast path found it a miss already
    if known is not None:
        return known
    # On a pooled connection rather than the request's ORM session: a hit then never
    # opens (and tears down) a session, which is half of what a hit costs.
    return page_key(
        db.engine, request, request.endpoint, request.view_args or {}, str(get_locale() or "")
    )


def page_key(
    engine: Engine, req: Request, endpoint: str, view_args: Mapping[str, Any], locale: str
) -> Key:
    """The key of a cacheable page: what it shows has not changed while this stays equal.
    The reads end before the page's queries begin."""
    slug = str(view_args.get("slug"))
    with engine.connect() as connection:
        # A slug with a NUL is no event (the page says 404), and PostgreSQL refuses it.
        if endpoint == EVENT_ENDPOINT and "\x00" not in slug:
            row = connection.execute(EVENT_STAMP_QUERY, {"slug": slug}).one()
            version, registrations = int(row[0] or 0), tuple(row[1:])
        else:
            version, registrations = _catalogue_version(connection), ()
    address = req.full_path if req.query_string else req.path
    # The host too: absolute links (canonical, share) are built from it. (Not
    # `request.host_url`: it costs a tenth of a hit.)
    where = f"{endpoint} {req.scheme}://{req.host}{req.script_root}{address}"
    bucket = int(clock() // BUCKET_SECONDS)
    return (version, registrations, where, locale, bucket)


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


class FirstVisitFastPath:
    """WSGI middleware answering a cookie-less GET or HEAD of a cached page by itself.

    Without a cookie there is no session, no login, no flash message and no remember-me:
    the visitor is anonymous and the page is the stored one, unless it needs a CSRF token
    (which needs a session), and then Flask answers. The URL is matched and the host
    checked by the app's own adapter, so a redirect, a 404 or an untrusted host is Flask's
    to answer too. The language is part of the key: with no locale selector configured it
    is the default one, which is what Flask-Babel gives every request; an app with a
    selector gets no fast path.
    """

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._engine: Engine | None = None
        babel = app.extensions.get("babel")
        self.locale = (
            str(Locale.parse(babel.default_locale))
            if babel is not None and babel.locale_selector is None
            else None
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method in ("GET", "HEAD") and not environ.get("HTTP_COOKIE") and self.locale:
            page = self._lookup(environ)
            if page is not None:
                headers = [*page.headers, ("Content-Length", str(len(page.body))), (HEADER, "hit")]
                start_response("200 OK", headers)
                return [b""] if method == "HEAD" else [page.body]
        return self.wsgi_app(environ, start_response)

    def _lookup(self, environ: WSGIEnvironment) -> Page | None:
        cache = cache_for(self.app)
        if cache is None:
            return None
        req = self.app.request_class(environ)
        try:
            endpoint, view_args = self.app.create_url_adapter(req).match()  # type: ignore[union-attr]
        except HTTPException:  # not found, a redirect, a disallowed method or host
            return None
        if endpoint not in CACHED_ENDPOINTS:
            return None
        key = page_key(self.engine, req, str(endpoint), view_args, str(self.locale))
        page = cache.get(key)
        if page is None or page.has_csrf_token:
            environ[ENVIRON_KEY] = key  # Flask renders (or fills in the token) under it
            return None
        return page

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self.app.app_context():
                self._engine = db.engine
        return self._engine


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
