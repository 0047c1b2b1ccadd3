"""Compressed answers: which encoding each Accept-Encoding gets, cached pages sent from their
stored compressed bytes on both paths (hits and misses, 304s per encoding), everything else
textual compressed per answer (feeds, the API's JSON, the sitemap, static files, logged-in
pages), what never is (pictures, PDF, streamed exports, small answers, BREACH-prone
answers), and one round over real HTTP."""

from __future__ import annotations

import gzip
import http.client
import io
import re
from collections.abc import Callable
from typing import Any

import brotli
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from eventsite import compression, i18n
from eventsite.extensions import db
from eventsite.images import services as image_services
from eventsite.models import RegistrationStatus
from eventsite.page_cache import hooks, keys, store
from eventsite.timeutil import utcnow

from .pictures import png

DECODERS: dict[str | None, Callable[[bytes], bytes]] = {
    "br": brotli.decompress,
    "gzip": gzip.decompress,
    None: lambda body: body,
}
# What each Accept-Encoding header gets.
NEGOTIATED = [
    ("br", "br"),
    ("gzip", "gzip"),
    ("gzip, deflate, br, zstd", "br"),  # a browser
    ("gzip;q=1.0, br;q=0.5", "gzip"),  # the client's order wins
    ("br;q=0", None),
    ("gzip;q=0", None),
    ("gzip;q=0, br;q=0", None),
    ("*", "br"),
    ("*;q=0.5, br;q=0", "gzip"),
    ("identity", None),
    ("deflate", None),
    ("GZIP", "gzip"),
    ("", None),
    ("garbage;;q=x,,", None),
    ("br;q=abc", None),
    ("\x00\x01 ;;;===", None),
]
CROSS_SITE = {"Sec-Fetch-Site": "cross-site"}
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The page cache's clock, held still: no minute turns during a test."""
    now = [600_000.0]
    monkeypatch.setattr(keys, "clock", lambda: now[0])
    return now


@pytest.fixture
def catalogue(make_event, make_organisation, make_session) -> dict[str, str]:
    """A few published events (the listing is over a kilobyte), by the pages' addresses."""
    organisation = make_organisation(name="Harbour Society", slug="harbour")
    events = [make_event(title=f"Ocean Forum {n}", organisation=organisation) for n in range(1, 13)]
    make_session(events[0], title="Opening plenary")
    return {"listing": "/events/", "event": f"/events/{events[0].slug}"}


def without_csrf(body: bytes) -> bytes:
    return re.sub(rb'name="csrf_token" value="[^"]*"', b"", body)


def decoded(response: TestResponse) -> bytes:
    return DECODERS[response.headers.get("Content-Encoding")](response.get_data())


def get(client: FlaskClient, path: str, accept: str | None = None, **headers: str) -> Any:
    if accept is not None:
        headers["Accept-Encoding"] = accept
    return client.get(path, headers=headers)


def assert_sent_in(response: TestResponse, encoding: str | None) -> None:
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == encoding
    assert response.headers["Content-Length"] == str(len(response.get_data()))
    assert "Accept-Encoding" in response.headers["Vary"]


# --- which encoding ----------------------------------------------------------------------------


@pytest.mark.parametrize(("accept", "expected"), NEGOTIATED)
def test_negotiation_follows_the_clients_q_values_and_prefers_brotli(accept, expected):
    assert compression.negotiate(accept) == expected


@pytest.mark.parametrize("size", [compression.MIN_BYTES, compression.LARGE_BYTES + 1])
@pytest.mark.parametrize("encoding", compression.ENCODINGS)
def test_every_body_comes_back_exactly_and_smaller(size, encoding):
    body = (b"BEGIN:VEVENT\r\nSUMMARY:Ocean Forum\r\nEND:VEVENT\r\n" * (size // 40 + 1))[:size]
    encoded = compression.encode(body, encoding)
    assert DECODERS[encoding](encoded) == body
    assert len(encoded) < size / 4


def test_compression_is_the_last_after_request_work_after_the_page_cache(app):
    # Run last (first in the list), the cache keeps the page as rendered, with every
    # header, and whatever the cache did not send compressed is compressed here. Between
    # them only i18n's cookie remembering a `?lang=` choice (never kept in the cache).
    funcs = app.after_request_funcs[None]
    assert funcs[0] is compression.compress_response
    assert funcs[1:3] == [i18n._remember_choice, hooks.finish_response]


# --- the page cache: both paths, hits and misses -----------------------------------------------


@pytest.mark.parametrize("page", ["listing", "event"])
@pytest.mark.parametrize("path_taken", ["fast-path", "flask"])
@pytest.mark.parametrize(
    ("accept", "expected"),
    [("br", "br"), ("gzip", "gzip"), ("gzip;q=0", None), (None, None), ("garbage;;q=x,,", None)],
)
def test_a_cached_page_is_sent_in_the_asked_encoding_on_misses_and_hits(
    app, client, catalogue, clock, page, path_taken, accept, expected
):
    path = catalogue[page]
    identity_client = app.test_client()
    if path_taken == "flask":
        client.set_cookie("theme", "dark")  # any cookie: Flask answers, not the fast path

    miss = get(client, path, accept)
    hit = get(client, path, accept)
    identity = get(identity_client, path)

    assert [miss.headers["X-Page-Cache"], hit.headers["X-Page-Cache"]] == ["miss", "hit"]
    assert identity.headers["X-Page-Cache"] == "hit"
    assert identity.headers.get("Content-Encoding") is None
    for response in (miss, hit):
        assert_sent_in(response, expected)
        assert decoded(response) == identity.get_data()
        assert response.headers["Vary"] == "Accept-Language, Cookie, Accept-Encoding"
        assert response.headers["Cache-Control"] == identity.headers["Cache-Control"]
        assert response.headers["Content-Type"] == identity.headers["Content-Type"]
    # One tag per encoding, the same on a miss and a hit.
    tag = identity.headers["ETag"]
    expected_tag = tag if expected is None else f'{tag[:-1]}-{expected}"'
    assert miss.headers["ETag"] == hit.headers["ETag"] == expected_tag
    if expected is not None:
        assert len(hit.get_data()) < len(identity.get_data()) / 3


def test_the_stored_page_keeps_each_encoding_once_and_counts_them(app, client, catalogue, clock):
    get(client, catalogue["listing"], "br")
    pages = list(store.cache_for(app)._pages.values())
    assert len(pages) == 1
    page = pages[0]
    assert set(page.variants) == {None, "br", "gzip"}
    assert brotli.decompress(page.variants["br"].body) == page.body
    assert gzip.decompress(page.variants["gzip"].body) == page.body
    assert (
        store.cache_for(app).bytes == page.size == sum(len(v.body) for v in page.variants.values())
    )


@pytest.mark.parametrize("path_taken", ["fast-path", "flask"])
def test_head_gives_the_length_of_the_encoding_a_get_would_send(
    app, client, catalogue, clock, path_taken
):
    if path_taken == "flask":
        client.set_cookie("theme", "dark")
    full = get(client, catalogue["listing"], "br")
    head = client.head(catalogue["listing"], headers={"Accept-Encoding": "br"})
    assert head.headers["X-Page-Cache"] == "hit"
    assert head.headers["Content-Encoding"] == "br"
    assert head.headers["Content-Length"] == str(len(full.get_data()))
    assert head.get_data() == b""


@pytest.mark.parametrize("path_taken", ["fast-path", "flask"])
@pytest.mark.parametrize("held", [None, "br", "gzip"])
@pytest.mark.parametrize("accept", [None, "br"])
def test_any_of_the_pages_tags_gets_a_304_carrying_that_tag(
    app, client, catalogue, clock, path_taken, held, accept
):
    path = catalogue["event"]
    if path_taken == "flask":
        client.set_cookie("theme", "dark")
    tag = get(client, path, held).headers["ETag"]
    assert tag.endswith(f'-{held}"') if held else not tag.endswith(('-br"', '-gzip"'))

    response = get(client, path, accept, **{"If-None-Match": tag})
    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == tag
    assert response.headers["Vary"] == "Accept-Language, Cookie, Accept-Encoding"
    assert "Content-Encoding" not in response.headers


def test_a_tag_of_another_page_or_a_made_up_encoding_gets_the_page(app, client, catalogue, clock):
    tag = get(client, catalogue["event"], "br").headers["ETag"]
    listing = get(client, catalogue["listing"], "br", **{"If-None-Match": tag})
    assert listing.status_code == 200
    made_up = tag.replace('-br"', '-zstd"')
    event = get(client, catalogue["event"], "br", **{"If-None-Match": made_up})
    assert event.status_code == 200


def test_the_coming_soon_form_is_never_kept_compressed(app, client, clock):
    # Without events the home page is "coming soon", with the notify-me form and its token.
    first = get(client, "/", "br")
    assert first.status_code == 200
    assert 'name="csrf_token"' in decoded(first).decode()
    page = next(iter(store.cache_for(app)._pages.values()))
    assert page.has_csrf_token and set(page.variants) == {None}


def test_with_compression_off_pages_are_sent_as_rendered(app_config, backend, request):
    app = _app_with(request, app_config, COMPRESSION_ENABLED=False)
    client = app.test_client()
    request.getfixturevalue("catalogue")
    for _ in range(2):
        response = get(client, "/events/", "br")
        assert response.status_code == 200
        assert "Content-Encoding" not in response.headers
        assert response.headers["Vary"] == "Accept-Language, Cookie"
    feed = get(client, "/calendar.ics", "br")
    assert "Content-Encoding" not in feed.headers


def _app_with(request: pytest.FixtureRequest, app_config: dict[str, Any], **config: Any) -> Flask:
    app_config.update(config)
    return request.getfixturevalue("app")


# --- everything else textual, per answer --------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [
        ("/calendar.ics", "text/calendar"),
        ("/events/feed.atom", "application/atom+xml"),
        ("/sitemap.xml", "application/xml"),
        ("/api/v1/events", "application/json"),
        ("/api/openapi.json", "application/json"),
    ],
)
@pytest.mark.parametrize("accept", ["br", "gzip"])
def test_feeds_the_sitemap_and_the_api_are_compressed(
    app, client, catalogue, clock, path, mimetype, accept
):
    identity = get(client, path)
    compressed = get(client, path, accept)
    assert identity.mimetype == compressed.mimetype == mimetype
    assert "Content-Encoding" not in identity.headers
    assert_sent_in(compressed, accept)
    assert decoded(compressed) == identity.get_data()
    if "ETag" in identity.headers:
        assert compressed.headers["ETag"] == f'{identity.headers["ETag"][:-1]}-{accept}"'


@pytest.mark.parametrize("path", ["/calendar.ics", "/api/v1/events"])
def test_a_feed_or_api_304_for_the_compressed_tag(app, client, catalogue, path):
    tag = get(client, path, "br").headers["ETag"]
    again = get(client, path, "br", **{"If-None-Match": tag})
    assert again.status_code == 304
    assert again.headers["ETag"] == tag
    assert again.get_data() == b""
    # The tag as rendered still answers 304 too, whatever the client takes now.
    plain = get(client, path).headers["ETag"]
    assert get(client, path, "br", **{"If-None-Match": plain}).status_code == 304


def test_a_compressed_body_with_a_strong_etag_is_compressed_once(app, client, catalogue):
    compression.MEMO.clear()
    first = get(client, "/calendar.ics", "br")
    kept = compression.MEMO.bytes
    assert kept == len(first.get_data())
    second = get(client, "/calendar.ics", "br")
    assert second.get_data() == first.get_data()
    assert compression.MEMO.bytes == kept


@pytest.mark.parametrize(
    ("filename", "mimetype"), [("site.css", "text/css"), ("door.js", "text/javascript")]
)
def test_static_files_are_compressed_with_their_caching_unchanged(app, client, filename, mimetype):
    path = f"/static/{filename}"
    identity = get(client, path)
    compressed = get(client, path, "br")
    assert identity.mimetype == compressed.mimetype == mimetype
    assert_sent_in(compressed, "br")
    assert decoded(compressed) == identity.get_data()
    assert compressed.headers["Cache-Control"] == identity.headers["Cache-Control"]
    assert compressed.headers["Last-Modified"] == identity.headers["Last-Modified"]
    assert "Accept-Ranges" not in compressed.headers
    tag = compressed.headers["ETag"]
    assert tag == f'{identity.headers["ETag"][:-1]}-br"'
    assert get(client, path, "br", **{"If-None-Match": tag}).status_code == 304
    # A range of the file is the file's bytes, as before.
    part = get(client, path, "br", Range="bytes=0-9")
    assert part.status_code == 206
    assert "Content-Encoding" not in part.headers
    assert part.get_data() == identity.get_data()[:10]


def test_small_answers_and_pictures_are_sent_as_they_are(app, client, make_organisation):
    small = get(client, "/static/calendar-copy.js", "br")  # 655 bytes
    assert small.status_code == 200 and "Content-Encoding" not in small.headers
    robots = get(client, "/robots.txt", "br")
    assert robots.status_code == 200 and "Content-Encoding" not in robots.headers
    for path in ("/static/og-default.png", "/favicon.ico"):
        picture = get(client, path, "br")
        assert picture.status_code == 200 and "Content-Encoding" not in picture.headers
    image = image_services.create_image(png(), "Logo", utcnow())
    db.session.commit()
    for fmt in ("jpeg", "webp"):
        served = get(client, f"/images/{image.largest[fmt]}", "br, gzip")
        assert served.status_code == 200
        assert served.mimetype.startswith("image/")
        assert "Content-Encoding" not in served.headers


@pytest.fixture
def member_event(make_organisation, make_member, make_event, make_user, make_registration, login):
    organisation = make_organisation(name="Leaf Society")
    login(make_member(organisation))
    event = make_event(organisation=organisation)
    for n in range(30):
        make_registration(make_user(name=f"Person {n}"), event, RegistrationStatus.CONFIRMED)
    db.session.commit()
    return event


def test_a_streamed_export_and_a_pdf_are_never_compressed(app, client, member_event):
    csv = get(client, f"/manage/events/{member_event.id}/registrants.csv", "br", **SAME_ORIGIN)
    assert csv.status_code == 200
    assert csv.is_streamed
    assert "Content-Encoding" not in csv.headers
    assert "Person 7" in csv.get_data().decode("utf-8-sig")
    pdf = client.post(
        f"/manage/events/{member_event.id}/badges",
        data={"layout": "a4-2x4"},
        headers={"Accept-Encoding": "br", **SAME_ORIGIN},
    )
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "Content-Encoding" not in pdf.headers
    assert pdf.get_data().startswith(b"%PDF")


# --- BREACH: secrets next to reflected input ---------------------------------------------------


def test_a_logged_in_page_is_compressed_only_for_requests_from_the_site_itself(
    app, client, make_user, login, catalogue
):
    login(make_user())
    path = "/events/?q=Ocean"  # the search box reflects the query next to the CSRF token
    identity = get(client, path, None, **SAME_ORIGIN)
    assert "Content-Encoding" not in identity.headers
    same_origin = get(client, path, "br", **SAME_ORIGIN)
    typed = get(client, path, "br", **{"Sec-Fetch-Site": "none"})
    for response in (same_origin, typed):
        assert_sent_in(response, "br")
        assert response.headers["Cache-Control"] == "private, no-store"
    # The same page, but for its CSRF token: signed anew once a second.
    assert without_csrf(decoded(same_origin)) == without_csrf(identity.get_data())
    # Started by another site (a link, a form, a script), or by a browser that does not
    # say: sent as it is.
    for headers in (CROSS_SITE, {"Sec-Fetch-Site": "same-site"}, {}):
        response = get(client, path, "br", **headers)
        assert response.status_code == 200
        assert "Content-Encoding" not in response.headers
        assert "Accept-Encoding" in response.headers["Vary"]


def test_anonymous_answers_are_compressed_whoever_started_them(app, client, catalogue, clock):
    response = get(client, "/events/?q=Ocean", "br", **CROSS_SITE)
    assert_sent_in(response, "br")
    feed = get(client, "/calendar.ics", "br", **CROSS_SITE)
    assert_sent_in(feed, "br")


# --- over HTTP ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_gunicorn_sends_cached_pages_compressed_with_the_right_length(gunicorn, catalogue):
    server = gunicorn(workers=1, PAGE_CACHE_ENABLED="true")

    def fetch(path: str, accept: str | None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            conn.request("GET", path, headers={"Accept-Encoding": accept} if accept else {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    path = catalogue["listing"]
    answers = [(accept, fetch(path, accept)) for accept in ("br", "br", "gzip", None)]
    plain = answers[-1][1][2]
    assert [headers["X-Page-Cache"] for _, (_, headers, _) in answers] == [
        "miss",
        "hit",
        "hit",
        "hit",
    ]
    for accept, (status, headers, body) in answers:
        assert status == 200
        assert headers.get("Content-Encoding") == accept
        assert int(headers["Content-Length"]) == len(body)
        assert DECODERS[accept](body) == plain
    with gzip.GzipFile(fileobj=io.BytesIO(fetch("/static/site.css", "gzip")[2])) as css:
        assert b"body" in css.read()
