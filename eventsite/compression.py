"""Compressed answers: which encoding a client takes (brotli, gzip or none), the bytes in
it, and the last after-request work, which compresses what the page cache did not.

The page cache keeps its pages compressed once per entry (`page_cache.store`) and serves
the stored bytes; everything else textual and at least `MIN_BYTES` long (logged-in pages,
feeds, the API's JSON, the sitemap, stylesheets and scripts) is compressed here, per
answer, except:

- what is already compressed or not text (pictures, PDF, spreadsheets, QR codes), what is
  streamed (the registrant exports), what says `Cache-Control: no-transform` or carries a
  `Content-Encoding` already;
- BREACH: an answer to a request that carries cookies (so may show this visitor's CSRF
  token, feed links or other secrets) and that another site may have started
  (`Sec-Fetch-Site` other than `same-origin` or `none`, or no such header). A page
  compressed with a secret in it and input of the attacker's next to it leaks the secret
  through its length, one guessed character at a time, if the attacker can make the
  victim's browser send many requests. Cookies are `SameSite=Lax`, so such requests can
  only be top-level navigations; those are never compressed. Requests without cookies get
  a page with no secret of anyone (a new session's token at most, new each time).
  (Flask-WTF does not mask its token per answer: the first part, the session's secret, is
  the same on every page; only the signed time stamp after it changes, once a second.)

A compressed answer keeps its ETag with the encoding added (`"tag"` becomes `"tag-br"`),
so a cache never mistakes one encoding's bytes for another's, and `If-None-Match` with
the compressed tag gets a 304. Bodies with a strong ETag are compressed once and kept
(`BodyMemo`): a strong ETag names exactly one sequence of bytes (feeds, API answers,
static files).
"""

from __future__ import annotations

import functools
import gzip
import threading
from collections import OrderedDict

import brotli
from flask import Flask, Response, request
from werkzeug.http import parse_accept_header

from eventsite import headers

# Preferred first when a client takes both equally (brotli is ~10 % smaller on our pages).
ENCODINGS = ("br", "gzip")
# Smaller answers are sent as they are: the gain is a packet at most, and the cost is not.
MIN_BYTES = 1024
# Brotli 5 and gzip 6: a 40 KiB page in about a millisecond each, within a few per cent of
# the smallest either can make (brotli 11 is 10 % smaller and 40 times slower).
BROTLI_QUALITY = 5
GZIP_LEVEL = 6
# A body this large (the calendar of every event, 12 MB) at brotli 1 / gzip 1: measured on a
# 12 MB calendar, about 0.13 / 0.28 s instead of 0.55 / 0.9 s, and still a sixth of its size.
# It is compressed once per version and process (BodyMemo), but right after every change.
LARGE_BYTES = 1024 * 1024
TEXTUAL_TYPES = frozenset(
    {
        "application/javascript",
        "application/json",
        "application/xml",
        "image/svg+xml",
    }
)
# Fetch metadata of a request the visitor made on this site or by hand (typed, bookmarked).
SAFE_FETCH_SITES = frozenset({"same-origin", "none"})
MEMO_MAX_BYTES = 32 * 1024 * 1024  # compressed bodies kept by strong ETag, per process


@functools.lru_cache(maxsize=256)
def negotiate(accept_encoding: str | None) -> str | None:
    """The encoding to send to a client with this Accept-Encoding header: the one it values
    most of ours (brotli on a tie), or None for the body as it is (no header, nothing of
    ours accepted, or `q=0`). Kept per header value: clients send few different ones."""
    if not accept_encoding:
        return None
    explicit: dict[str, float] = {}
    wildcard = 0.0
    for value, quality in parse_accept_header(accept_encoding):
        if value == "*":
            wildcard = quality
        else:
            explicit[value.lower()] = quality
    best, best_quality = None, 0.0
    for encoding in ENCODINGS:
        quality = explicit.get(encoding, wildcard)
        if quality > best_quality:
            best, best_quality = encoding, quality
    return best


def encode(body: bytes, encoding: str) -> bytes:
    large = len(body) >= LARGE_BYTES
    if encoding == "br":
        quality = 1 if large else BROTLI_QUALITY
        return brotli.compress(body, quality=quality, mode=brotli.MODE_TEXT)
    # mtime=0: the same bytes every time, in every process (nothing in them dates the answer).
    return gzip.compress(body, compresslevel=1 if large else GZIP_LEVEL, mtime=0)


def encoded_variants(body: bytes) -> dict[str, bytes]:
    """The body in each of our encodings; none for a body too small to gain."""
    if len(body) < MIN_BYTES:
        return {}
    return {encoding: encode(body, encoding) for encoding in ENCODINGS}


def is_textual(mimetype: str) -> bool:
    return (
        mimetype.startswith("text/")
        or mimetype in TEXTUAL_TYPES
        or mimetype.endswith(("+json", "+xml"))
    )


class BodyMemo:
    """Compressed bodies by (address, strong ETag, length, encoding): a thread-safe LRU
    bounded by bytes, so a feed or a stylesheet is compressed once per process and version.
    (The address too: a tag names one body of one resource, not of every resource.)"""

    def __init__(self, max_bytes: int = MEMO_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._bodies: OrderedDict[tuple[str, str, int, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_encode(self, address: str, etag: str, body: bytes, encoding: str) -> bytes:
        key = (address, etag, len(body), encoding)
        with self._lock:
            found = self._bodies.get(key)
            if found is not None:
                self._bodies.move_to_end(key)
                return found
        encoded = encode(body, encoding)
        if len(encoded) > self.max_bytes:
            return encoded
        with self._lock:
            if key not in self._bodies:
                self._bodies[key] = encoded
                self.bytes += len(encoded)
            while self.bytes > self.max_bytes:
                _, evicted = self._bodies.popitem(last=False)
                self.bytes -= len(evicted)
        return encoded

    def clear(self) -> None:
        with self._lock:
            self._bodies.clear()
            self.bytes = 0


MEMO = BodyMemo()


def may_be_attacked_through_length() -> bool:
    """BREACH (see the module's docstring): cookies sent on a request another site may
    have started."""
    if "HTTP_COOKIE" not in request.environ:
        return False
    return request.headers.get("Sec-Fetch-Site") not in SAFE_FETCH_SITES


def compress_response(response: Response) -> Response:
    """The last after-request work: compress a textual answer for a client that takes it."""
    if (
        response.status_code < 200
        or response.status_code in (204, 206, 304)
        or "Content-Encoding" in response.headers
        or "no-transform" in response.headers.get("Cache-Control", "").lower()
        or not is_textual(response.mimetype or "")
    ):
        return response
    if response.direct_passthrough:
        # A file from send_file (the static folder): small, read at once. Anything else
        # streamed (the registrant exports) stays as it is.
        if request.endpoint != "static":
            return response
        response.direct_passthrough = False
    elif response.is_streamed:
        return response
    body = response.get_data()
    if len(body) < MIN_BYTES:
        return response
    headers.add_vary(response.headers, "Accept-Encoding")
    encoding = negotiate(request.headers.get("Accept-Encoding"))
    if encoding is None or may_be_attacked_through_length():
        return response
    etag, weak = response.get_etag()
    if etag is not None:
        response.set_etag(f"{etag}-{encoding}", weak=weak)
        if request.if_none_match:
            # The client holds this encoding's tag, which the view did not know.
            response.make_conditional(request)
            if response.status_code == 304:
                return response
    if etag and not weak:
        response.set_data(MEMO.get_or_encode(request.full_path, etag, body, encoding))
    else:
        response.set_data(encode(body, encoding))
    response.headers["Content-Encoding"] = encoding
    response.headers.pop("Accept-Ranges", None)  # ranges of the compressed bytes: not offered
    return response


def init_app(app: Flask) -> None:
    """Compress answers (unless COMPRESSION_ENABLED is false: a proxy does it). Called after
    the page cache's init_app: this runs after the cache has kept its identity page."""
    if not app.config.get("COMPRESSION_ENABLED", True):
        return
    app.after_request_funcs.setdefault(None, []).insert(0, compress_response)
