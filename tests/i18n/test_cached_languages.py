"""The page cache in every language: the fast path (no cookie, or only `lang`) and the hooks
path (a session) serve each language its own page, with the right headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask, request, request_started

from eventsite.extensions import db
from eventsite.page_cache import keys


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The time buckets stand still unless a test moves them."""
    now = [1_900_000_000.0]
    monkeypatch.setattr(keys, "clock", lambda: now[0])
    return now


@pytest.fixture
def flask_requests(app: Flask) -> Iterator[list[str]]:
    """The requests Flask itself handled (the fast path sends no signal)."""
    seen: list[str] = []

    def record(_sender: Any, **_extra: Any) -> None:
        seen.append(request.full_path)

    request_started.connect(record, app)
    yield seen
    request_started.disconnect(record, app)


def lang_of(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


def test_the_fast_path_serves_each_browser_language_its_own_page(
    app, make_event, clock, flask_requests
) -> None:
    make_event(title="Ocean Forum", starts_at=datetime(2027, 3, 3, 9, tzinfo=UTC))
    visitor = app.test_client(use_cookies=False)
    seen = {}
    for header, tag in (("fr-FR,fr;q=0.9", "fr"), ("ar", "ar"), ("en-GB", "en"), (None, "en")):
        headers = {"Accept-Language": header} if header else {}
        first = visitor.get("/events/", headers=headers)
        second = visitor.get("/events/", headers=headers)
        assert lang_of(first) == lang_of(second) == tag
        assert second.get_data() == first.get_data()
        assert second.headers["X-Page-Cache"] == "hit"
        assert second.headers["Content-Language"] == tag
        assert second.headers["Vary"] == "Accept-Language, Cookie, Accept-Encoding"
        assert "public" in second.headers["Cache-Control"]
        seen[header] = second
    # One render per language (en-GB and no header share English's), the rest the fast path.
    assert flask_requests == ["/events/?"] * 3
    assert "3 mars 2027" in seen["fr-FR,fr;q=0.9"].get_data(as_text=True)
    assert "03\u200f/03\u200f/2027" in seen["ar"].get_data(
        as_text=True
    )  # Babel's Arabic medium date
    etags = {r.headers["ETag"] for r in seen.values()}
    assert len(etags) == 3  # en-GB and no header: the same English page


def test_a_french_etag_never_answers_an_arabic_visitor(app, make_event, clock) -> None:
    make_event()
    visitor = app.test_client(use_cookies=False)
    french = visitor.get("/events/", headers={"Accept-Language": "fr"})
    etag = french.headers["ETag"]
    same = visitor.get("/events/", headers={"Accept-Language": "fr", "If-None-Match": etag})
    assert same.status_code == 304
    assert same.headers["Vary"] == "Accept-Language, Cookie, Accept-Encoding"
    other = visitor.get("/events/", headers={"Accept-Language": "ar", "If-None-Match": etag})
    assert other.status_code == 200
    assert lang_of(other) == "ar"


def test_lang_in_the_address_is_cached_and_remembered(
    app, make_event, clock, flask_requests
) -> None:
    make_event()
    first = app.test_client(use_cookies=False).get("/events/?lang=fr")
    assert lang_of(first) == "fr"
    assert first.headers["Set-Cookie"].startswith("lang=fr;")
    assert first.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in first.headers
    # A second newcomer with the same link: the fast path, with the cookie too.
    second = app.test_client(use_cookies=False).get(
        "/events/?lang=fr", headers={"Accept-Language": "ar"}
    )
    assert second.headers["X-Page-Cache"] == "hit"
    assert second.get_data() == first.get_data()
    assert second.headers["Set-Cookie"].startswith("lang=fr;")
    assert second.headers["Cache-Control"] == "private, no-store"
    # Someone who has that cookie already: a public page, the same for everyone with the
    # link, whatever their Accept-Language (so it does not vary on it).
    remembered = app.test_client()
    remembered.set_cookie("lang", "fr")
    third = remembered.get("/events/?lang=fr", headers={"Accept-Language": "ar"})
    assert third.headers["X-Page-Cache"] == "hit"
    assert "Set-Cookie" not in third.headers
    assert third.headers["Vary"] == "Cookie, Accept-Encoding"
    assert third.headers["Content-Language"] == "fr"
    assert "public" in third.headers["Cache-Control"] and "ETag" in third.headers
    assert flask_requests == ["/events/?lang=fr"]


def test_a_lang_cookie_alone_is_served_by_the_fast_path(
    app, make_event, clock, flask_requests
) -> None:
    make_event()
    visitor = app.test_client()
    visitor.set_cookie("lang", "ar")
    first = visitor.get("/events/", headers={"Accept-Language": "fr"})
    second = visitor.get("/events/", headers={"Accept-Language": "fr"})
    assert lang_of(first) == lang_of(second) == "ar"
    assert second.headers["X-Page-Cache"] == "hit"
    assert flask_requests == ["/events/?"]
    # The cached Arabic page is what an Accept-Language: ar newcomer gets too.
    newcomer = app.test_client(use_cookies=False).get("/events/", headers={"Accept-Language": "ar"})
    assert newcomer.headers["X-Page-Cache"] == "hit"
    assert newcomer.get_data() == first.get_data()
    # Another cookie beside it: Flask answers (from the cache, in Arabic).
    visitor.set_cookie("theme", "dark")
    third = visitor.get("/events/", headers={"Accept-Language": "fr"})
    assert third.headers["X-Page-Cache"] == "hit"
    assert lang_of(third) == "ar"
    assert flask_requests == ["/events/?", "/events/?"]


def test_the_hooks_path_keeps_languages_apart(app, make_event, clock, flask_requests) -> None:
    event = make_event()
    path = f"/events/{event.slug}"
    pages = {}
    for code in ("en", "fr", "ar", "fr", "en", "ar"):
        visitor = app.test_client()
        visitor.set_cookie("session-ish", "1")  # any other cookie: through Flask
        visitor.set_cookie("lang", code)
        response = visitor.get(path)
        assert lang_of(response) == {"en": "en", "fr": "fr", "ar": "ar"}[code]
        if code in pages:
            assert response.headers["X-Page-Cache"] == "hit"
            assert response.get_data() == pages[code]
        else:
            assert response.headers["X-Page-Cache"] == "miss"
            pages[code] = response.get_data()
    assert len(flask_requests) == 6


def test_a_cached_french_page_after_a_change_is_fresh(app, make_event, clock) -> None:
    event = make_event(title="Ocean Forum")
    visitor = app.test_client(use_cookies=False)
    french = {"Accept-Language": "fr"}
    assert visitor.get(f"/events/{event.slug}", headers=french).headers["X-Page-Cache"] == "miss"
    assert visitor.get(f"/events/{event.slug}", headers=french).headers["X-Page-Cache"] == "hit"
    event.title = "Forum des océans"
    db.session.commit()
    changed = visitor.get(f"/events/{event.slug}", headers=french)
    assert changed.headers["X-Page-Cache"] == "miss"
    assert "Forum des océans" in changed.get_data(as_text=True)
    assert lang_of(changed) == "fr"
