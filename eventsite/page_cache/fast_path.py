"""The page cache before Flask: a cookie-less GET or HEAD of a cached page (a first visit, a
link followed from elsewhere, a crawler, a CDN) answered without building a request."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException

from eventsite import compression, i18n
from eventsite.extensions import db
from eventsite.page_cache import hooks, keys, store

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Answer = tuple[str, list[tuple[str, str]], bytes]  # status, headers, body


def _language_cookie_only(cookie_header: str) -> str | None:
    """The `lang` cookie's value when it is the request's only cookie, else None."""
    name, sep, value = cookie_header.strip().partition("=")
    if name != i18n.COOKIE or not sep or ";" in value:
        return None
    return value.strip().strip('"')


class FirstVisitFastPath:
    """WSGI middleware answering a GET or HEAD of a cached page by itself, without a cookie
    or with only the language one: the stored page, or a 304 when the visitor's ETag is
    still the page's.

    Without a session cookie there is no login, no flash message and no remember-me: the
    visitor is anonymous and the page is the stored one, unless it needs a CSRF token
    (which needs a session), and then Flask answers. The URL is matched and the host
    checked by the app's own adapter, so a redirect, a 404 or an untrusted host is Flask's
    to answer too. The language is part of the key, resolved as Flask-Babel's selector
    does (i18n.resolve: `?lang=`, the `lang` cookie, Accept-Language); a `?lang=` choice
    the browser does not remember yet is answered with its cookie, privately.
    """

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._engine: Engine | None = None
        self.secure_cookie = i18n.secure_cookie(app)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        cookies = environ.get("HTTP_COOKIE")
        cookie = _language_cookie_only(cookies) if cookies else None
        if method in ("GET", "HEAD") and (not cookies or cookie is not None):
            try:
                answer = self._lookup(environ, cookie)
            except Exception as err:
                # Out here an error would reach the WSGI server, whose bare 500 has none of
                # the site's pages or headers: Flask raises it again (serve_from_cache),
                # without waiting a second time for a database that does not answer, and
                # answers with the site's error handling (the database is down: a 503).
                environ.pop(hooks.ENVIRON_KEY, None)
                environ[hooks.ENVIRON_ERROR] = err
                answer = None
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [b""] if method == "HEAD" else [body]
        return self.wsgi_app(environ, start_response)

    def _lookup(self, environ: WSGIEnvironment, cookie: str | None) -> Answer | None:
        cache = store.cache_for(self.app)
        if cache is None:
            return None
        req = self.app.request_class(environ)
        try:
            endpoint, view_args = self.app.create_url_adapter(req).match()  # type: ignore[union-attr]
        except HTTPException:  # not found, a redirect, a disallowed method or host
            return None
        rules = keys.rules_for(self.app)
        if endpoint not in rules.endpoints:
            return None
        query = req.args.get(i18n.QUERY)
        locale, source = i18n.resolve(query, None, cookie, environ.get("HTTP_ACCEPT_LANGUAGE"))
        key = keys.page_key(self.engine, rules, req, str(endpoint), view_args, locale)
        remember = i18n.choice_to_remember(query, cookie)
        held = keys.held_etag(environ.get("HTTP_IF_NONE_MATCH"), key)
        if held is not None:
            vary = i18n.vary_header(source)
            headers = [*keys.public_headers(rules, held, vary=vary), (hooks.HEADER, "not-modified")]
            return "304 Not Modified", self._remembering(headers, remember), b""
        page = cache.get(key)
        if page is None or page.has_csrf_token:
            environ[hooks.ENVIRON_KEY] = key  # Flask renders (or fills in the token) under it
            return None
        variant = page.variant(compression.negotiate(environ.get("HTTP_ACCEPT_ENCODING")))
        body = variant.body
        headers = [*variant.headers, ("Content-Length", str(len(body))), (hooks.HEADER, "hit")]
        return "200 OK", self._remembering(headers, remember), body

    def _remembering(
        self, headers: list[tuple[str, str]], language: str | None
    ) -> list[tuple[str, str]]:
        """The headers, with the cookie remembering a `?lang=` choice (then private)."""
        if language is None:
            return headers
        kept = [(n, v) for n, v in headers if n.lower() not in ("cache-control", "etag")]
        cookie = i18n.cookie_header(language, secure=self.secure_cookie)
        return [*kept, ("Cache-Control", i18n.PRIVATE), ("Set-Cookie", cookie)]

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self.app.app_context():
                self._engine = db.engine
        return self._engine
