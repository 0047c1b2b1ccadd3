"""The page cache of anonymous public pages: hits, invalidation, who never gets one, the
CSRF token of the coming-soon page's form, the cookie-less fast path, the caching headers
(Cache-Control, ETag, 304) and the module's place at the bottom of the layers."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request, request_started

from eventsite import create_app, page_cache
from eventsite.events import services as event_services
from eventsite.events.models import EventStatus
from eventsite.extensions import db
from eventsite.page_cache import hooks, keys, store
from eventsite.registration import services as registration_services
from eventsite.security_headers import CONTENT_SECURITY_POLICY
from eventsite.timeutil import utcnow

from .conftest import free_port


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "PAGE_CACHE_ENABLED": True}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The cache's clock, moved by the test: `clock[0] += 60`."""
    now = [600_000.0]  # a bucket boundary
    monkeypatch.setattr(keys, "clock", lambda: now[0])
    return now


def cache(app: Flask) -> store.PageCache:
    found = store.cache_for(app)
    assert found is not None
    return found


def test_second_anonymous_get_is_a_hit_with_at_most_one_query(
    app, client, make_event, count_queries, clock
):
    make_event(title="Ocean Forum")
    first = client.get("/events/")
    assert first.status_code == 200
    assert first.headers["X-Page-Cache"] == "miss"

    with count_queries() as counter:
        second = client.get("/events/")
    assert second.status_code == 200
    assert second.headers["X-Page-Cache"] == "hit"
    assert second.get_data() == first.get_data()
    assert "Ocean Forum" in second.get_data(as_text=True)
    assert second.content_type == first.content_type
    assert "Set-Cookie" not in second.headers
    assert counter.count <= 1


@pytest.mark.parametrize("path", ["/", "/topics/climate", "/organisations/hosts"])
def test_home_topic_and_organisation_pages_are_cached(
    app, client, make_event, make_topic, make_organisation, clock, path
):
    topic = make_topic("Climate")
    make_event(title="Ocean Forum", topics=[topic], organisation=make_organisation(slug="hosts"))
    assert client.get(path).headers["X-Page-Cache"] == "miss"
    assert client.get(path).headers["X-Page-Cache"] == "hit"


def csrf_token_in(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def stored_bodies(app: Flask) -> list[bytes]:
    return [page.body for page in cache(app)._pages.values()]


def test_second_anonymous_get_of_an_event_page_is_a_hit_with_one_query(
    app, client, make_event, count_queries, clock
):
    event = make_event(title="Ocean Forum", capacity=5)
    first = client.get(f"/events/{event.slug}")
    assert first.status_code == 200
    assert first.headers["X-Page-Cache"] == "miss"
    assert "Set-Cookie" not in first.headers  # a visit sets no cookie

    with count_queries() as counter:
        second = client.get(f"/events/{event.slug}")
    assert second.status_code == 200
    assert second.headers["X-Page-Cache"] == "hit"
    assert counter.count == 1  # the stamp: catalogue version and registration counts
    assert second.get_data() == first.get_data()
    assert "Ocean Forum" in second.get_data(as_text=True)
    assert "Only 5 places left" in second.get_data(as_text=True)
    assert second.content_type == first.content_type
    assert "Set-Cookie" not in second.headers


def test_a_new_registration_makes_the_next_event_page_a_miss(
    app, client, make_event, make_user, clock
):
    event = make_event(capacity=5)
    client.get(f"/events/{event.slug}")
    assert client.get(f"/events/{event.slug}").headers["X-Page-Cache"] == "hit"

    registration_services.register_attendee(make_user(), event, {}, now=utcnow())
    db.session.commit()

    response = client.get(f"/events/{event.slug}")
    assert response.headers["X-Page-Cache"] == "miss"
    assert "Only 4 places left" in response.get_data(as_text=True)
    assert client.get(f"/events/{event.slug}").headers["X-Page-Cache"] == "hit"


def test_cancelling_and_promoting_make_the_next_event_page_a_miss(
    app, client, make_event, make_user, clock
):
    event = make_event(capacity=1, has_waiting_list=True)
    first = registration_services.register_attendee(make_user(), event, {}, now=utcnow())
    registration_services.register_attendee(make_user(), event, {}, now=utcnow())
    db.session.commit()
    client.get(f"/events/{event.slug}")
    assert client.get(f"/events/{event.slug}").headers["X-Page-Cache"] == "hit"

    # The freed place goes to the person waiting: the page reads the same, the key not.
    promoted = registration_services.cancel_registration(first, utcnow())
    db.session.commit()
    assert len(promoted) == 1
    assert client.get(f"/events/{event.slug}").headers["X-Page-Cache"] == "miss"

    registration_services.cancel_registration(promoted[0], utcnow())
    db.session.commit()
    response = client.get(f"/events/{event.slug}")
    assert response.headers["X-Page-Cache"] == "miss"
    assert "Only 1 place left" in response.get_data(as_text=True)


def test_approving_a_registration_makes_the_next_event_page_a_miss(
    app, client, make_event, make_user, clock
):
    event = make_event(capacity=5, requires_approval=True)
    registration = registration_services.register_attendee(make_user(), event, {}, now=utcnow())
    db.session.commit()
    assert client.get(f"/events/{event.slug}").headers["X-Page-Cache"] == "miss"
    assert client.get(f"/events/{event.slug}").headers["X-Page-Cache"] == "hit"

    registration_services.approve_registration(registration, utcnow())
    db.session.commit()

    response = client.get(f"/events/{event.slug}")
    assert response.headers["X-Page-Cache"] == "miss"
    assert "Only 4 places left" in response.get_data(as_text=True)


@pytest.mark.usefixtures("csrf_enabled", "smtp_sink")
def test_a_cached_form_works_with_each_visitors_own_csrf_token(app, clock):
    # With nothing published, home is the coming-soon page and its notify-me form.
    first, second = app.test_client(), app.test_client()
    first_page = first.get("/")
    assert first_page.headers["X-Page-Cache"] == "miss"
    assert "Notify me" in first_page.get_data(as_text=True)
    second_page = second.get("/")
    assert second_page.headers["X-Page-Cache"] == "hit"
    # The hit gave the visitor a session of their own, as a render would.
    assert "session=" in second_page.headers["Set-Cookie"]

    first_token = csrf_token_in(first_page.get_data(as_text=True))
    second_token = csrf_token_in(second_page.get_data(as_text=True))
    assert first_token != second_token
    assert first_token not in second_page.get_data(as_text=True)
    assert second_page.get_data(as_text=True).replace(second_token, "T") == first_page.get_data(
        as_text=True
    ).replace(first_token, "T")
    # What is kept has a sentinel where the token was, never a token.
    (body,) = stored_bodies(app)
    assert hooks.CSRF_SENTINEL in body
    assert first_token.encode() not in body
    assert second_token.encode() not in body

    # Another visitor's token is refused; the one from the cached page works.
    data = {"email": "fan@example.org"}
    refused = second.post("/notify", data={**data, "csrf_token": first_token})
    assert refused.status_code == 400
    sent = second.post("/notify", data={**data, "csrf_token": second_token})
    assert sent.status_code == 302

    # The flash after subscribing is shown fresh, then the cache serves the page again.
    flashed = second.get("/")
    assert "X-Page-Cache" not in flashed.headers
    assert "fan@example.org" in flashed.get_data(as_text=True)
    assert second.get("/").headers["X-Page-Cache"] == "hit"


def test_logged_in_user_gets_the_kept_event_page_with_their_own_parts_only(
    app, client, make_event, make_user, login, clock
):
    event = make_event()
    client.get(f"/events/{event.slug}")
    assert client.get(f"/events/{event.slug}").headers["X-Page-Cache"] == "hit"

    login(make_user(name="Grace Hopper"))
    for _ in range(2):
        response = client.get(f"/events/{event.slug}")
        assert response.headers["X-Page-Cache"] == "personal"  # tests/test_page_cache_holes.py
        assert response.headers["Cache-Control"] == "private, no-store"
        assert "Grace Hopper" in response.get_data(as_text=True)

    anonymous = app.test_client().get(f"/events/{event.slug}")
    assert anonymous.headers["X-Page-Cache"] == "hit"
    assert "Grace Hopper" not in anonymous.get_data(as_text=True)


@pytest.mark.parametrize("slug", ["not-there", "a-draft"])
def test_draft_and_unknown_event_pages_are_not_cached(app, client, make_event, clock, slug):
    make_event(slug="a-draft", status=EventStatus.DRAFT, published_at=None)
    for _ in range(2):
        response = client.get(f"/events/{slug}")
        assert response.status_code == 404
        assert response.headers["X-Page-Cache"] == "miss"
    assert len(cache(app)) == 0


def test_a_members_draft_preview_is_never_cached(
    app, client, make_event, make_member, login, clock
):
    draft = make_event(title="Secret Summit", status=EventStatus.DRAFT, published_at=None)
    login(make_member(draft.organisation))
    for _ in range(2):
        preview = client.get(f"/events/{draft.slug}")
        assert preview.status_code == 200
        assert "Secret Summit" in preview.get_data(as_text=True)
        assert "X-Page-Cache" not in preview.headers
        assert preview.headers["Cache-Control"] == "private, no-store"
    assert len(cache(app)) == 0

    # Anonymous visitors, with or without a cookie (fast path and Flask), still find nothing.
    for anonymous in (app.test_client(), app.test_client()):
        for _ in range(2):
            response = anonymous.get(f"/events/{draft.slug}")
            assert response.status_code == 404
            assert "Secret Summit" not in response.get_data(as_text=True)
    assert len(cache(app)) == 0


def test_another_host_gets_its_own_event_page(app, client, make_event, clock):
    # Absolute links are built from the request's host: one host's page is not another's.
    event = make_event()
    other = client.get(f"/events/{event.slug}", headers={"Host": "elsewhere.example"})
    assert other.headers["X-Page-Cache"] == "miss"
    assert "http://elsewhere.example/" in other.get_data(as_text=True)
    response = client.get(f"/events/{event.slug}")
    assert response.headers["X-Page-Cache"] == "miss"
    assert "elsewhere.example" not in response.get_data(as_text=True)


def test_publishing_an_event_makes_the_next_get_a_miss(app, client, make_event, clock):
    make_event(title="Ocean Forum")
    draft = make_event(title="Mountain Summit", status=EventStatus.DRAFT, published_at=None)
    client.get("/events/")
    assert "Mountain Summit" not in client.get("/events/").get_data(as_text=True)

    event_services.publish_event(draft, now=utcnow())
    db.session.commit()

    response = client.get("/events/")
    assert response.headers["X-Page-Cache"] == "miss"
    assert "Mountain Summit" in response.get_data(as_text=True)


def test_editing_an_event_makes_the_next_get_a_miss(app, client, make_event, clock):
    event = make_event(title="Ocean Forum")
    client.get("/events/")
    assert client.get("/events/").headers["X-Page-Cache"] == "hit"

    event_services.update_event(event, {"title": "Deep Sea Forum"}, now=utcnow())
    db.session.commit()

    response = client.get("/events/")
    assert response.headers["X-Page-Cache"] == "miss"
    page = response.get_data(as_text=True)
    assert "Deep Sea Forum" in page
    assert "Ocean Forum" not in page


def test_cancelling_an_event_makes_the_next_get_a_miss(app, client, make_event, clock):
    event = make_event(title="Ocean Forum")
    before = client.get("/events/").get_data(as_text=True)
    assert client.get("/events/").headers["X-Page-Cache"] == "hit"

    event_services.cancel_event(event, "The venue flooded.", now=utcnow())
    db.session.commit()

    response = client.get("/events/")
    assert response.headers["X-Page-Cache"] == "miss"
    assert response.get_data(as_text=True) != before
    assert "Cancelled" in response.get_data(as_text=True)


def test_logged_in_user_gets_the_kept_page_with_their_own_parts_only(
    app, client, make_event, make_user, login, clock
):
    make_event(title="Ocean Forum")
    client.get("/events/")
    assert client.get("/events/").headers["X-Page-Cache"] == "hit"

    login(make_user(name="Grace Hopper"))
    for _ in range(2):
        response = client.get("/events/")
        assert response.headers["X-Page-Cache"] == "personal"  # tests/test_page_cache_holes.py
        assert response.headers["Cache-Control"] == "private, no-store"
        assert "Grace Hopper" in response.get_data(as_text=True)

    # And what they saw was not kept for the next anonymous visitor.
    anonymous = app.test_client().get("/events/")
    assert anonymous.headers["X-Page-Cache"] == "hit"
    assert "Grace Hopper" not in anonymous.get_data(as_text=True)


def test_remember_me_cookie_gets_a_private_answer(app, client, make_event, clock):
    make_event()
    client.get("/events/")
    client.set_cookie("remember_token", "1|whatever")
    response = client.get("/events/")
    # Someone who may be logged in: the account links drawn for them (here, a guest's).
    assert response.headers["X-Page-Cache"] == "personal"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Log in" in response.get_data(as_text=True)


def test_a_different_query_string_is_a_different_entry(app, client, make_event, clock):
    make_event(title="Ocean Forum")
    make_event(title="Mountain Summit")
    assert client.get("/events/").headers["X-Page-Cache"] == "miss"
    searched = client.get("/events/?q=ocean")
    assert searched.headers["X-Page-Cache"] == "miss"
    assert "Mountain Summit" not in searched.get_data(as_text=True)
    assert client.get("/events/?q=ocean").headers["X-Page-Cache"] == "hit"
    assert client.get("/events/?q=mountain").headers["X-Page-Cache"] == "miss"
    assert len(cache(app)) == 3


def test_the_time_bucket_expires(app, client, make_event, clock):
    make_event()
    client.get("/events/")
    clock[0] += keys.BUCKET_SECONDS - 1
    assert client.get("/events/").headers["X-Page-Cache"] == "hit"
    clock[0] += 1
    assert client.get("/events/").headers["X-Page-Cache"] == "miss"


def test_flash_messages_are_neither_swallowed_nor_cached(app, client, make_event, clock):
    make_event()
    client.get("/events/")
    assert client.get("/events/").headers["X-Page-Cache"] == "hit"

    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Your email address is confirmed.")]
    response = client.get("/events/")
    assert "X-Page-Cache" not in response.headers
    assert "Your email address is confirmed." in response.get_data(as_text=True)

    # Shown once, and not to the next visitor.
    again = client.get("/events/")
    assert again.headers["X-Page-Cache"] == "hit"
    assert "Your email address is confirmed." not in again.get_data(as_text=True)


def test_head_is_served_from_the_cache(app, client, make_event, clock):
    make_event()
    head = client.head("/events/")
    assert head.status_code == 200
    assert head.headers["X-Page-Cache"] == "miss"
    assert head.get_data() == b""
    get = client.get("/events/")
    assert get.headers["X-Page-Cache"] == "hit"
    assert b"<html" in get.get_data()
    head = client.head("/events/")
    assert head.headers["X-Page-Cache"] == "hit"
    assert head.get_data() == b""
    assert int(head.headers["Content-Length"]) == len(get.get_data())


def test_not_found_pages_are_not_cached(app, client, clock):
    for _ in range(2):
        response = client.get("/topics/nothing-here")
        assert response.status_code == 404
        assert response.headers.get("X-Page-Cache") == "miss"
    assert len(cache(app)) == 0


def test_the_cache_stays_within_its_entry_bound(app, client, make_event, clock):
    make_event()
    app.extensions[store.EXTENSION] = store.PageCache(max_entries=3)
    for n in range(1, 6):
        client.get(f"/events/?page={n}")
    assert len(cache(app)) == 3
    # The oldest were evicted; the newest are still there.
    assert client.get("/events/?page=1").headers["X-Page-Cache"] == "miss"
    assert client.get("/events/?page=5").headers["X-Page-Cache"] == "hit"


def a_page(body: bytes, **encoded: bytes) -> store.Page:
    variants = {name: store.Variant(data, ()) for name, data in encoded.items()}
    return store.Page({None: store.Variant(body, ()), **variants})


def test_the_cache_stays_within_its_byte_bound():
    pages = store.PageCache(max_entries=100, max_bytes=1000)
    for n in range(10):
        pages.put((1, f"events.listing /events/?page={n}", "en", 0), a_page(b"x" * 300))
        assert pages.bytes <= 1000
    assert len(pages) == 3
    assert pages.get((1, "events.listing /events/?page=9", "en", 0)) is not None
    assert pages.get((1, "events.listing /events/?page=0", "en", 0)) is None
    # A page bigger than the whole budget is simply not kept.
    pages.put((1, "big", "en", 0), a_page(b"x" * 2000))
    assert pages.get((1, "big", "en", 0)) is None
    assert pages.bytes <= 1000


def test_the_byte_bound_counts_every_encoding_of_a_page():
    pages = store.PageCache(max_entries=100, max_bytes=1000)
    for n in range(10):
        page = a_page(b"x" * 300, br=b"b" * 100, gzip=b"g" * 120)
        pages.put((1, f"events.listing /events/?page={n}", "en", 0), page)
        assert pages.bytes <= 1000
    assert len(pages) == 1  # 520 bytes each
    assert pages.bytes == 520


def test_disabled_cache_serves_every_page_fresh(app, client, make_event):
    app.extensions.pop(store.EXTENSION, None)
    make_event()
    for _ in range(2):
        assert "X-Page-Cache" not in client.get("/events/").headers


# --- the cookie-less fast path ---------------------------------------------------------------


@pytest.fixture
def flask_requests(app: Flask) -> Iterator[list[str]]:
    """The paths of the requests Flask itself handled (the fast path sends no signal)."""
    seen: list[str] = []

    def record(_sender: Any, **_extra: Any) -> None:
        seen.append(request.path)

    request_started.connect(record, app)
    yield seen
    request_started.disconnect(record, app)


def test_a_cookie_less_hit_is_answered_before_flask(app, client, make_event, clock, flask_requests):
    event = make_event(title="Ocean Forum")
    for path in ("/events/", f"/events/{event.slug}"):
        first = client.get(path)
        second = client.get(path)
        assert second.headers["X-Page-Cache"] == "hit"
        assert second.get_data() == first.get_data()
        assert second.headers["Content-Type"] == first.headers["Content-Type"]
        assert int(second.headers["Content-Length"]) == len(first.get_data())
    assert flask_requests == ["/events/", f"/events/{event.slug}"]  # the misses only


def test_fast_path_and_flask_share_the_entries(app, client, make_event, clock, flask_requests):
    make_event(title="Ocean Forum")
    other = app.test_client()
    other.set_cookie("theme", "dark")  # any cookie: Flask answers
    assert other.get("/events/").headers["X-Page-Cache"] == "miss"
    assert client.get("/events/").headers["X-Page-Cache"] == "hit"  # stored by Flask
    assert other.get("/events/").headers["X-Page-Cache"] == "hit"  # by Flask, from the cache
    assert flask_requests == ["/events/", "/events/"]
    assert len(cache(app)) == 1


def test_head_on_the_fast_path(app, client, make_event, clock, flask_requests):
    make_event()
    get = client.get("/events/")
    head = client.head("/events/")
    assert head.status_code == 200
    assert head.headers["X-Page-Cache"] == "hit"
    assert head.get_data() == b""
    assert int(head.headers["Content-Length"]) == len(get.get_data())
    assert flask_requests == ["/events/"]


def test_redirects_and_unknown_addresses_are_left_to_flask(app, client, make_event, clock):
    make_event(slug="ocean-forum")
    client.get("/events/")
    redirected = client.get("/events")
    assert redirected.status_code == 308
    assert redirected.headers["Location"].endswith("/events/")
    assert client.get("/events/ocean-forum/nothing").status_code == 404
    assert client.post("/events/").status_code == 405


@pytest.fixture
def trusted_hosts(app_config: dict[str, Any]) -> None:
    app_config["TRUSTED_HOSTS"] = ["events.example"]


@pytest.fixture
def behind_a_proxy(app_config: dict[str, Any]) -> None:
    app_config["TRUSTED_PROXIES"] = 1


def test_an_untrusted_host_is_refused_by_flask_not_served(
    trusted_hosts, app, client, make_event, clock
):
    make_event()
    assert client.get("/events/", headers={"Host": "events.example"}).status_code == 200
    assert client.get("/events/", headers={"Host": "events.example"}).headers["X-Page-Cache"] == (
        "hit"
    )
    refused = client.get("/events/", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    assert "X-Page-Cache" not in refused.headers
    assert refused.get_data(as_text=True) == "400 Bad Request\n"


def test_the_fast_path_sees_the_address_the_proxy_was_asked_for(
    behind_a_proxy, app, client, make_event, clock
):
    event = make_event()
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "events.example"}
    first = client.get(f"/events/{event.slug}", headers=proxied)
    assert first.headers["X-Page-Cache"] == "miss"
    assert f"https://events.example/events/{event.slug}" in first.get_data(as_text=True)
    second = client.get(f"/events/{event.slug}", headers=proxied)
    assert second.headers["X-Page-Cache"] == "hit"
    assert second.get_data() == first.get_data()
    direct = client.get(f"/events/{event.slug}")
    assert direct.headers["X-Page-Cache"] == "miss"
    assert "events.example" not in direct.get_data(as_text=True)


@pytest.mark.parametrize(
    "database_down",
    [
        lambda tmp_path: f"postgresql+psycopg://eventsite:eventsite@127.0.0.1:{free_port()}/x",
        lambda tmp_path: f"sqlite:///{tmp_path / 'no-such-folder' / 'db.sqlite3'}",
    ],
    ids=["postgresql-closed-port", "sqlite-missing-file"],
)
@pytest.mark.parametrize("path", ["/", "/events/", "/events/ocean-forum"])
def test_with_the_database_down_a_first_visit_gets_the_sites_503_page(
    tmp_path, database_down, path
):
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_down(tmp_path), "PAGE_CACHE_ENABLED": True}
    )
    response = app.test_client().get(path)  # no cookie: the fast path's request
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert "Service unavailable" in body
    assert "cannot load this page just now" in body
    assert 'href="/events/"' in body  # the site's layout
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "X-Page-Cache" not in response.headers


# --- HTTP caching: Cache-Control, ETag, 304 ----------------------------------------------------

PUBLIC = "public, max-age=0, s-maxage=10, must-revalidate"


def assert_public(response: Any) -> None:
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == PUBLIC
    assert response.headers["ETag"].startswith('"')
    assert "Cookie" in response.headers["Vary"]
    assert "Set-Cookie" not in response.headers


def assert_private(response: Any) -> None:
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in response.headers
    assert "Cookie" in response.headers["Vary"]


@pytest.mark.parametrize("path", ["/", "/events/", "/topics/climate", "/organisations/hosts"])
def test_anonymous_pages_are_public_with_one_etag_on_every_path(
    app, client, make_event, make_topic, make_organisation, clock, path
):
    topic = make_topic("Climate")
    make_event(topics=[topic], organisation=make_organisation(slug="hosts"))
    miss = client.get(path)
    fast = client.get(path)  # no cookie: the WSGI fast path
    client.set_cookie("theme", "dark")
    slow = client.get(path)  # a cookie: through Flask
    assert [r.headers["X-Page-Cache"] for r in (miss, fast, slow)] == ["miss", "hit", "hit"]
    for response in (miss, fast, slow):
        assert_public(response)
    assert miss.headers["ETag"] == fast.headers["ETag"] == slow.headers["ETag"]


def test_the_event_page_is_public_for_anonymous_visitors(app, client, make_event, clock):
    event = make_event(capacity=5)
    for _ in range(2):
        assert_public(client.get(f"/events/{event.slug}"))


def test_a_logged_in_visitors_page_is_private(app, client, make_event, make_user, login, clock):
    event = make_event()
    public = client.get(f"/events/{event.slug}")
    login(make_user(name="Grace Hopper"))
    for path in (f"/events/{event.slug}", "/events/", "/"):
        response = client.get(path, headers={"If-None-Match": public.headers["ETag"]})
        assert response.status_code == 200  # their page is not the anonymous one
        assert "Grace Hopper" in response.get_data(as_text=True)
        assert_private(response)


def test_a_remember_me_cookie_makes_the_page_private(app, client, make_event, clock):
    make_event()
    client.get("/events/")
    client.set_cookie("remember_token", "1|whatever")
    assert_private(client.get("/events/"))


def test_a_page_showing_a_flash_message_is_private(app, client, make_event, clock):
    make_event()
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Your email address is confirmed.")]
    assert_private(client.get("/events/"))


def test_a_page_setting_a_cookie_is_private_even_from_the_cache(app, client, make_event, clock):
    make_event()
    client.get("/events/")
    # A permanent session is sent again with every answer: this one is the visitor's.
    with client.session_transaction() as session:
        session.permanent = True
        session["theme"] = "dark"
    response = client.get("/events/")
    assert response.headers["X-Page-Cache"] == "hit"
    assert "session=" in response.headers["Set-Cookie"]
    assert_private(response)


@pytest.mark.usefixtures("csrf_enabled")
def test_a_page_with_a_csrf_token_is_private_on_every_visit(app, clock):
    # Nothing published: home is the coming-soon page and its notify-me form.
    first, second = app.test_client().get("/"), app.test_client().get("/")
    assert [first.headers["X-Page-Cache"], second.headers["X-Page-Cache"]] == ["miss", "hit"]
    for response in (first, second):
        assert "session=" in response.headers["Set-Cookie"]
        assert_private(response)


def test_not_found_pages_are_private(app, client, clock):
    response = client.get("/events/not-there")
    assert response.status_code == 404
    assert_private(response)


def test_pages_that_are_not_cacheable_get_no_caching_headers(app, client, clock):
    response = client.get("/login")
    assert response.status_code == 200
    assert "Cache-Control" not in response.headers
    assert "ETag" not in response.headers


@pytest.mark.parametrize("with_cookie", [False, True], ids=["fast-path", "flask"])
def test_a_matching_etag_gets_304_without_a_body(
    app, client, make_event, clock, flask_requests, with_cookie
):
    event = make_event()
    path = f"/events/{event.slug}"
    etag = client.get(path).headers["ETag"]
    if with_cookie:
        client.set_cookie("theme", "dark")
    for sent in (etag, f"W/{etag}", f'"something-else", {etag}'):
        response = client.get(path, headers={"If-None-Match": sent})
        assert response.status_code == 304
        assert response.get_data() == b""
        assert response.headers["ETag"] == etag
        assert response.headers["Cache-Control"] == PUBLIC
        assert "Cookie" in response.headers["Vary"]
        assert response.headers["X-Page-Cache"] == "not-modified"
    head = client.head(path, headers={"If-None-Match": etag})
    assert head.status_code == 304
    other = client.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert other.headers["ETag"] == etag
    assert client.get(path, headers={"If-None-Match": "*"}).status_code == 200  # only our tags
    # Without a cookie, neither the 304s nor the 200 reached Flask.
    assert flask_requests == [path] * (7 if with_cookie else 1)


def test_a_worker_that_never_rendered_the_page_answers_304_and_gives_the_same_etag(
    app, app_config, client, make_event, clock
):
    event = make_event()
    path = f"/events/{event.slug}"
    etag = client.get(path).headers["ETag"]
    other_worker = create_app(app_config)  # its own cache, empty
    try:
        other = other_worker.test_client()
        assert other.get(path, headers={"If-None-Match": etag}).status_code == 304
        rendered = other.get(path)
        assert rendered.headers["X-Page-Cache"] == "miss"
        assert rendered.headers["ETag"] == etag
    finally:
        with other_worker.app_context():
            db.engine.dispose()


def test_editing_an_event_changes_the_etag(app, client, make_event, clock):
    event = make_event(title="Ocean Forum")
    paths = ["/events/", f"/events/{event.slug}"]
    before = {path: client.get(path).headers["ETag"] for path in paths}

    event_services.update_event(event, {"title": "Deep Sea Forum"}, now=utcnow())
    db.session.commit()

    for path in paths:
        response = client.get(path, headers={"If-None-Match": before[path]})
        assert response.status_code == 200
        assert "Deep Sea Forum" in response.get_data(as_text=True)
        assert response.headers["ETag"] != before[path]


def test_a_registration_changes_the_event_pages_etag(app, client, make_event, make_user, clock):
    event = make_event(capacity=5)
    path = f"/events/{event.slug}"
    before = client.get(path).headers["ETag"]
    assert client.get(path, headers={"If-None-Match": before}).status_code == 304

    registration_services.register_attendee(make_user(), event, {}, now=utcnow())
    db.session.commit()

    response = client.get(path, headers={"If-None-Match": before})
    assert response.status_code == 200
    assert "Only 4 places left" in response.get_data(as_text=True)
    assert response.headers["ETag"] != before


def test_the_etag_changes_with_the_time_bucket(app, client, make_event, clock):
    make_event()
    before = client.get("/events/").headers["ETag"]
    clock[0] += keys.BUCKET_SECONDS
    response = client.get("/events/", headers={"If-None-Match": before})
    assert response.status_code == 200
    assert response.headers["ETag"] != before


@pytest.fixture
def shared_caches_ask_every_time(app_config: dict[str, Any]) -> None:
    app_config["PAGE_CACHE_SHARED_MAX_AGE"] = 0


def test_shared_max_age_zero_makes_shared_caches_ask_every_time(
    shared_caches_ask_every_time, app, client, make_event, clock
):
    make_event()
    for _ in range(2):
        assert client.get("/events/").headers["Cache-Control"] == "public, no-cache"


def test_without_the_page_cache_no_caching_headers_are_sent(app, client, make_event):
    app.extensions.pop(store.EXTENSION, None)
    make_event()
    response = client.get("/events/", headers={"If-None-Match": "*"})
    assert response.status_code == 200
    assert "ETag" not in response.headers
    assert "Cache-Control" not in response.headers


# --- its place in the layers -------------------------------------------------------------------

DOMAIN_PACKAGES = {
    "accounts",
    "announcements",
    "events",
    "feeds",
    "ical",
    "mail",
    "organisations",
    "organiser",
    "registration",
    "sharing",
    "api",
    "cli",
}


def test_the_page_cache_imports_no_domain_package():
    imported = set()
    for path in Path(page_cache.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                if node.module == "eventsite":
                    imported.update(f"eventsite.{alias.name}" for alias in node.names)
    ours = {name.split(".")[1] for name in imported if name.startswith("eventsite.")}
    # compression, database and i18n: infrastructure (the stored encodings; the stamp read
    # straight from the driver; the key's language)
    assert ours == {"compression", "database", "extensions", "i18n", "page_cache"}
    assert not ours & DOMAIN_PACKAGES


def test_pages_declare_themselves_cacheable_next_to_their_views(app):
    rules = keys.rules_for(app)
    assert rules.endpoints == {
        "events.home",
        "events.listing",
        "events.topic",
        "events.organisation",
        "events.detail",
        "events.calendar",
        "events.atom_feed",
        "events.sitemap",
        "events.sitemap_part",
    }
    # The registration package adds the places left to the event page's key, and to the
    # pages that list event cards.
    assert list(rules.by_endpoint) == [
        "events.detail",
        "events.home",
        "events.listing",
        "events.topic",
        "events.organisation",
    ]


def test_a_stamp_for_a_page_that_is_not_cacheable_is_refused_at_start_up(app):
    page_cache.add_stamp(app, "accounts.login", lambda: [])
    app.config["PAGE_CACHE_ENABLED"] = True
    with pytest.raises(ValueError, match=r"accounts\.login"):
        page_cache.init_app(app, stamp=lambda: [])
