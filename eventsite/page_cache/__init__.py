"""A per-process cache of rendered public pages for anonymous visitors, and the HTTP caching
headers that let browsers and shared caches (a reverse proxy, a CDN) keep them too.

Shared infrastructure: it imports no domain package. What it needs from them is declared
where it lives:

- a view says its page may be cached with `@page_cache.cacheable` (next to its route);
- `page_cache.init_app(app, stamp=...)`, from `create_app`, is given what every cached page
  depends on (the catalogue version);
- a package whose data shows on another package's page adds to that page's key with
  `page_cache.add_stamp(app, endpoint, part)` (registration: the event page's places left);
- a package whose part of a page is someone's own (the account links, the registration
  box) marks it as a hole in the template and says how to draw it with
  `page_cache.add_hole(app, name, fill)`: someone logged in is then served the kept page
  with their own parts filled in (`holes`), instead of a whole render.

A stamp part is a function returning SQL expressions worth one value each (a scalar
subquery, say), whose bind parameters are named after the page's URL variables (`slug`).
All the parts of a page are read in one statement per request (`keys`). An entry is keyed
by those values, the address, the locale and a 60-second bucket of the wall clock.

Hits are served at two places: a GET or HEAD without any cookie by a WSGI middleware before
Flask builds a request (`fast_path`), anything else first of all before-request work
(`hooks`), where a miss renders and is kept (`store`) once every other after-request
function but compression has run. A page is kept as rendered and compressed (brotli, gzip:
`eventsite.compression`), once when it is kept, and each visitor gets the stored bytes in
the encoding their Accept-Encoding asks for.

A page that is the same for every anonymous visitor is sent
`Cache-Control: public, max-age=0, s-maxage=N, must-revalidate` (browsers ask every time,
shared caches may answer alone for N seconds), `Vary: Cookie, Accept-Encoding` and a strong
`ETag` computed from the key (and the encoding: `"…-br"`), so every worker on every server
gives it the same tag and answers `If-None-Match` with a 304 from the stamp alone, on both
paths. Every other answer of a
cacheable page (someone who may be logged in, a flash message, a cookie being set, a CSRF
token in the page, an error) is `Cache-Control: private, no-store`.
"""

from __future__ import annotations

from flask import Flask

from eventsite import compression
from eventsite.page_cache import fast_path, holes, hooks, keys, store
from eventsite.page_cache.keys import StampPart, View


def cacheable(view: View) -> View:
    """Mark a view's page as the same for every anonymous visitor while its stamp holds:
    anonymous GETs are then served from the cache and sent public caching headers. Above
    or below the route decorator alike (the function itself is marked)."""
    setattr(view, keys.MARK, True)
    return view


def add_stamp(app: Flask, endpoint: str, part: StampPart) -> None:
    """Add to one page's key what another package shows on it (registration: the event
    page's places left). `part` returns SQL expressions worth one value each; their bind
    parameters are named after the page's URL variables."""
    keys.rules_for(app).by_endpoint.setdefault(endpoint, []).append(part)


def add_hole(app: Flask, name: str, fill: holes.Fill) -> None:
    """Say how to draw the hole `name` (a template's `{% call page_hole(name) %}`) for the
    visitor at hand: `fill(view_args)` returns its HTML. A logged-in visitor is then served
    the page kept for anonymous visitors, with their own content in each hole."""
    keys.rules_for(app).holes[name] = fill


def init_app(app: Flask, *, stamp: StampPart) -> None:
    """Turn the cache on (unless PAGE_CACHE_ENABLED is false). `stamp` is what every cached
    page depends on: SQL expressions whose values change with anything the pages show."""
    app.add_template_global(holes.page_hole, "page_hole")
    if not app.config.get("PAGE_CACHE_ENABLED", True):
        return
    rules = keys.rules_for(app)
    # A stamp for a page that is not (or no longer) cacheable would quietly keep nothing
    # fresh: say so at start-up. (Stamps are added as blueprints are registered.)
    views = app.view_functions
    strays = [e for e in rules.by_endpoint if not getattr(views.get(e), keys.MARK, False)]
    if strays:
        raise ValueError(f"page_cache.add_stamp for pages no view marks cacheable: {strays}")
    rules.common.append(stamp)
    rules.shared_max_age = int(app.config.get("PAGE_CACHE_SHARED_MAX_AGE", rules.shared_max_age))
    if app.config.get("COMPRESSION_ENABLED", True):
        rules.encodings = compression.ENCODINGS
    app.extensions[store.EXTENSION] = store.PageCache(
        int(app.config.get("PAGE_CACHE_MAX_ENTRIES", 512))
    )
    # First of all before-request work: a hit needs nothing else (these pages carry no rate
    # limit; POSTs, where limits and CSRF checks apply, are never served from here)...
    app.before_request_funcs.setdefault(None, []).insert(0, hooks.serve_from_cache)
    # ...and last of all after-request work (they run last-registered first) but compression
    # (compression.init_app, called next, goes after it), so that what is kept carries every
    # header the others add (the security headers) and the body as rendered.
    app.after_request_funcs.setdefault(None, []).insert(0, hooks.finish_response)
    app.wsgi_app = fast_path.FirstVisitFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
