"""The page cache inside Flask: a hit (or a 304) first of all before-request work, and last
of all after-request work but compression, a miss kept (as rendered and compressed) and
every answer told who else may keep it.

A page carrying the visitor's CSRF token is stored with a sentinel in its place, and each
hit gets the visitor's own (then the answer sets a cookie, and is private, and is kept as
rendered only: compression.compress_response decides per answer).

Someone who may be logged in gets a personal answer: the kept page with their own parts
drawn in its holes (`holes`), private. On a miss of theirs the site first renders the page
as an anonymous visitor's request (`_keep_for_everyone`), keeps it, and fills that."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, g, request, session
from flask.globals import request_ctx
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf

from eventsite import compression, database, i18n
from eventsite.extensions import db
from eventsite.page_cache import holes, keys, store

HEADER = "X-Page-Cache"  # hit, miss or not-modified
# Where the fast path leaves the key it computed for a request it passes on to Flask...
ENVIRON_KEY = "eventsite.page_cache_key"
# ...and the error it met, for Flask's error handling to answer.
ENVIRON_ERROR = "eventsite.page_cache_error"
# Headers that belong to one response, not to the page: left out of what is stored.
UNSTORED_HEADERS = frozenset(
    {"content-length", "set-cookie", "date", "retry-after", HEADER.lower()}
)
# Where the visitor's CSRF token goes in a stored body. Markup characters: escaped page
# content can never contain it (and a page that does anyway is not stored).
CSRF_SENTINEL = b"<page-cache:csrf-token>"
# The hole every page drawn from base.html has: the account links (a page kept without it
# is never served to someone logged in).
ACCOUNT_HOLE = "account"
# A kept page's headers that say who else may keep it: not sent with a personal answer.
SHARED = frozenset({"etag", "cache-control", "vary"})
# What of a logged-in visitor's request an anonymous one for the same page leaves out: who
# they are (cookies), what they hold (conditional headers) and any body.
NOT_ANONYMOUS = frozenset(
    {
        "HTTP_COOKIE",
        "HTTP_IF_NONE_MATCH",
        "HTTP_IF_MODIFIED_SINCE",
        "HTTP_AUTHORIZATION",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
    }
)


@dataclass
class Visit:
    """What serve_from_cache found, for finish_response."""

    key: keys.Key | None  # None: someone who may be logged in, or a flash to show
    outcome: str = "miss"  # hit, miss or not-modified
    session_before: dict[str, Any] | None = None


def _vary() -> str:
    # Where get_locale() found the language (i18n.select_locale), asked by every key.
    return i18n.vary_header(g.get("language_source", "default"))


def _is_anonymous() -> bool:
    # Without loading the user: a user id in the session or a remember-me cookie means
    # someone may be logged in, and their page carries their name.
    remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return "_user_id" not in session and remember not in request.cookies


def serve_from_cache() -> Response | None:
    failed = request.environ.pop(ENVIRON_ERROR, None)
    if failed is not None:  # in the fast path, before Flask: see FirstVisitFastPath
        raise failed
    cache = store.cache_for(current_app)
    if cache is None or request.method not in ("GET", "HEAD"):
        return None
    rules = keys.rules_for(current_app)
    endpoint = request.endpoint
    if endpoint not in rules.endpoints:
        return None
    # Flash messages waiting for this visitor: render them (once), never from the cache.
    if "_flashes" in session:
        g.page_cache_visit = Visit(None)
        return None
    if not _is_anonymous():
        g.page_cache_visit = Visit(None)
        return _serve_personal(cache, rules, endpoint)
    key = request.environ.get(ENVIRON_KEY)  # the fast path found it a miss already
    if key is None:
        locale = str(get_locale() or "")
        view_args = request.view_args or {}
        key = keys.page_key(db.engine, rules, request, endpoint, view_args, locale, read=_reader())
    held = keys.held_etag(request.headers.get("If-None-Match"), key)
    if held is not None:
        g.page_cache_visit = Visit(key, "not-modified")
        return Response(status=304, headers=keys.public_headers(rules, held, vary=_vary()))
    page = cache.get(key)
    if page is None:
        # What the session held before the render, to see what the render changed.
        g.page_cache_visit = Visit(key, "miss", dict(session))
        g.page_cache_marks_holes = True  # the render is kept: someone's own parts marked
        return None
    g.page_cache_visit = Visit(key, "hit")
    if page.has_csrf_token:
        # This visitor's own token, put in their session as a render would.
        body = page.body.replace(CSRF_SENTINEL, generate_csrf().encode())
        return Response(body, status=200, headers=list(page.variant(None).headers))
    variant = page.variant(compression.negotiate(request.headers.get("Accept-Encoding")))
    return Response(variant.body, status=200, headers=list(variant.headers))


def _reader() -> keys.StampReader | None:
    """The stamp read on the request's direct connection, where nothing was read before
    it (`database.read_directly`): the page's own reads then use the same connection (one
    checkout, on PostgreSQL one ping)."""
    return database.read_directly if database.can_read_directly() else None


def _serve_personal(cache: store.PageCache, rules: keys.Rules, endpoint: str) -> Response | None:
    """Someone logged in: the page kept for anonymous visitors, with their own parts drawn
    in its holes, when it is kept and every hole can be drawn (else None: a render). The
    answer is theirs alone (finish_response makes it private)."""
    if i18n.QUERY in request.args:
        return None  # a language chosen while logged in is kept with the account: a render
    view_args = request.view_args or {}
    locale = str(get_locale() or "")
    key = keys.page_key(db.engine, rules, request, endpoint, view_args, locale, read=_reader())
    page = cache.get(key)
    if page is None:
        _keep_for_everyone(locale)
        page = cache.get(key)
    if page is None or not page.holes:
        return None
    names = {name for _start, _end, name in page.holes}
    if ACCOUNT_HOLE not in names or not names <= rules.holes.keys():
        return None  # a page whose account links are not a hole would greet them as a guest
    fills = {name: rules.holes[name](view_args).encode() for name in names}
    variant = page.variant(None)
    body = holes.fill(variant.body, page.holes, fills)
    if page.has_csrf_token:
        body = body.replace(CSRF_SENTINEL, generate_csrf().encode())
    g.page_cache_visit = Visit(None, "personal")
    headers = [(name, value) for name, value in variant.headers if name.lower() not in SHARED]
    return Response(body, status=200, headers=headers)


def _keep_for_everyone(locale: str) -> None:
    """A personal miss: the same address asked by the site itself as an anonymous visitor in
    the person's language (the `lang` cookie alone) would ask it, in an application context
    of its own (its own `g`, database session and user), so that its miss keeps the page
    exactly as a visitor's would. A page that is not kept for everyone (a draft's preview,
    a page that cannot be shared) stays unkept, and the person's page is rendered whole."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    environ = {
        name: value
        for name, value in request.environ.items()
        if name not in NOT_ANONYMOUS and not name.startswith(("werkzeug.", "eventsite."))
    }
    environ.update(
        {
            "REQUEST_METHOD": "GET",
            "HTTP_COOKIE": f"{i18n.COOKIE}={locale}",
            "wsgi.input": io.BytesIO(),
        }
    )
    with app.app_context():
        answer: Iterable[bytes] = app.wsgi_app(environ, _unheard)
        try:
            for _chunk in answer:
                pass
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()


def _unheard(_status: str, _headers: list[tuple[str, str]], _exc_info: Any = None) -> Any:
    """start_response for `_keep_for_everyone`: nobody receives that answer."""
    return lambda _data: None


def finish_response(response: Response) -> Response:
    """Last of all after-request work on a cacheable page but compression: keep a miss
    that is the same for everyone (and send it compressed as kept), and say who else may
    keep the answer."""
    visit: Visit | None = g.pop("page_cache_visit", None)
    if visit is None:
        return response
    if visit.key is None:
        if visit.outcome == "personal":
            response.headers[HEADER] = visit.outcome
        return _private(response)
    response.headers[HEADER] = visit.outcome
    if visit.outcome == "miss":
        _store(response, visit.key, visit.session_before or {})
    if _sets_cookie(response):  # this answer is this visitor's, whatever the page
        _private(response)
    return response


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = keys.PRIVATE
    response.headers.pop("ETag", None)
    response.vary.add("Cookie")
    return response


def _sets_cookie(response: Response) -> bool:
    # The session is saved after this: ask whether saving it will set (or delete) its cookie.
    app = current_app
    return "Set-Cookie" in response.headers or app.session_interface.should_set_cookie(app, session)


def _unmarked(response: Response) -> bytes | None:
    """The body as rendered, holes marked (None: a streamed body); the response is left
    holding it without the marks, which nobody receives."""
    if response.is_streamed or response.direct_passthrough:
        return None
    rendered = response.get_data()
    sent, found = holes.take(rendered)
    if found:
        response.set_data(sent)
    return rendered


def _store(response: Response, key: keys.Key, session_before: Mapping[str, Any]) -> None:
    cache = store.cache_for(current_app)
    rendered = _unmarked(response)
    body = (
        _without_csrf_token(rendered)
        if rendered is not None and _is_shareable(response, session_before)
        else None
    )
    if cache is None or body is None:
        _private(response)
        return
    body, page_holes = holes.take(body)
    if CSRF_SENTINEL in body:  # each visitor's own token, in their own session: never shared
        _private(response)
        variants = {None: store.Variant(body, _stored(response))}
        cache.put(key, store.Page(variants, True, page_holes))
        return
    rules = keys.rules_for(current_app)
    for name, value in keys.public_headers(rules, keys.etag_for(key), vary=_vary()):
        response.headers[name] = value
    headers = _stored(response)
    variants = {None: store.Variant(body, headers)}
    if rules.encodings:
        for encoding, encoded in compression.encoded_variants(body).items():
            variants[encoding] = store.Variant(encoded, _encoded_headers(headers, key, encoding))
    page = store.Page(variants, holes=page_holes)
    cache.put(key, page)
    # This visitor gets what a hit would give them: the page in their encoding.
    encoding = compression.negotiate(request.headers.get("Accept-Encoding"))
    if encoding is not None and encoding in variants:
        response.set_data(variants[encoding].body)
        response.headers["ETag"] = keys.etag_for(key, encoding)
        response.headers["Content-Encoding"] = encoding


def _stored(response: Response) -> tuple[tuple[str, str], ...]:
    """The response's headers that belong to the page, not to this one answer."""
    return tuple(
        (name, value)
        for name, value in response.headers.items()
        if name.lower() not in UNSTORED_HEADERS and not name.lower().startswith("x-ratelimit")
    )


def _encoded_headers(
    headers: tuple[tuple[str, str], ...], key: keys.Key, encoding: str
) -> tuple[tuple[str, str], ...]:
    etag = keys.etag_for(key, encoding)
    return (
        *((name, etag if name.lower() == "etag" else value) for name, value in headers),
        ("Content-Encoding", encoding),
    )


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
    shown, no session change other than a new CSRF token (which _store takes out of the
    body) or the freshness mark."""
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
