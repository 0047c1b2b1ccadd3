"""The calendar endpoints over HTTP: headers, filters, conditional GETs, secret feeds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import g

from eventsite.events import revision
from eventsite.extensions import db
from eventsite.feeds import queries, tokens
from eventsite.feeds.cache import FEED_CACHE
from eventsite.models import EventKind, EventStatus, Organisation
from eventsite.registration.models import RegistrationStatus
from eventsite.timeutil import utcnow

from ..ical.ics_check import assert_times_match, check_export

ICS = "text/calendar; charset=utf-8"


def _uid(event) -> str:
    return f"event-{event.id}@localhost"


def _feed_token(user) -> str:
    """Make the person's feed address, as the account page's button does."""
    token = tokens.regenerate_user_calendar_token(user)
    db.session.commit()
    return token


def _switch_user(login, user) -> None:
    """Log in as someone else: the tests share one app context, where Flask-Login keeps
    the previous request's user in `g`."""
    g.pop("_login_user", None)
    login(user)


# --- one event -----------------------------------------------------------------------------


def test_event_ics_is_a_download_with_the_event(client, make_event):
    event = make_event(slug="water-forum")
    response = client.get("/events/water-forum.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ICS
    assert response.headers["Content-Disposition"] == 'attachment; filename="water-forum.ics"'
    assert response.headers["ETag"].startswith('"')  # strong
    assert response.headers["Last-Modified"]
    parsed = check_export(response.data)
    assert parsed.uids() == [_uid(event)]
    assert_times_match(parsed, _uid(event), event)


def test_event_ics_with_sessions(client, make_event, make_session):
    event = make_event()
    session = make_session(event)
    parsed = check_export(client.get(f"/events/{event.slug}.ics?sessions=1").data)
    assert parsed.uids() == [_uid(event), f"session-{session.id}@localhost"]
    assert check_export(client.get(f"/events/{event.slug}.ics").data).uids() == [_uid(event)]


def test_drafts_and_unknown_events_are_404_in_plain_text(client, make_event):
    draft = make_event(status=EventStatus.DRAFT, published_at=None)
    for url in (f"/events/{draft.slug}.ics", "/events/nothing-here.ics"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("text/plain")


# --- public feeds ----------------------------------------------------------------------------


def test_feed_holds_upcoming_and_recent_events_only(client, make_event):
    now = utcnow().replace(microsecond=0)  # iCalendar counts whole seconds
    upcoming = make_event(starts_at=now + timedelta(days=3))
    recent = make_event(starts_at=now - timedelta(days=30))
    old = make_event(starts_at=now - timedelta(days=100))
    draft = make_event(status=EventStatus.DRAFT, starts_at=now + timedelta(days=5))
    cancelled = make_event(
        status=EventStatus.CANCELLED, revision=1, starts_at=now + timedelta(days=9)
    )
    response = client.get("/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ICS
    assert response.headers["Content-Disposition"] == 'inline; filename="calendar.ics"'
    parsed = check_export(response.data)
    assert parsed.uids() == [_uid(recent), _uid(upcoming), _uid(cancelled)]
    assert _uid(old) not in parsed.uids() and _uid(draft) not in parsed.uids()
    vevent = parsed.ical_events()[_uid(cancelled)]
    assert vevent["STATUS"] == "CANCELLED" and vevent.decoded("SEQUENCE") == 1
    assert parsed.ical["X-WR-CALNAME"] == "eventsite: all events"
    for event in (upcoming, recent, cancelled):
        assert_times_match(parsed, _uid(event), event)


def test_feed_holds_at_most_its_limit_the_earliest_first_with_their_topics(
    client, make_event, make_topic, monkeypatch
):
    monkeypatch.setattr(queries, "MAX_FEED_EVENTS", 3)
    climate, health = make_topic("Climate"), make_topic("Health")
    now = utcnow().replace(microsecond=0)
    events = [
        make_event(starts_at=now + timedelta(days=d), topics=[climate if d % 2 else health])
        for d in (9, 2, 7, 4, 5)
    ]
    parsed = check_export(client.get("/calendar.ics").data)
    soonest = sorted(events, key=lambda event: event.starts_at)[:3]
    assert parsed.uids() == [_uid(event) for event in soonest]
    for event in soonest:
        categories = parsed.ical_events()[_uid(event)].get("CATEGORIES")
        assert event.topics[0].name in categories.to_ical().decode()


def test_feed_takes_the_listing_filters(client, make_event, make_topic):
    climate = make_topic("Climate")
    match = make_event(topics=[climate], kind=EventKind.WORKSHOP, country="KE")
    make_event(topics=[climate], kind=EventKind.CONFERENCE, country="KE")
    make_event(kind=EventKind.WORKSHOP, country="KE")
    response = client.get("/calendar.ics?topic=climate&kind=workshop&country=ke")
    parsed = check_export(response.data)
    assert parsed.uids() == [_uid(match)]
    assert parsed.ical["X-WR-CALNAME"] == "eventsite: Climate · Workshop · Kenya"
    by_topic = check_export(client.get("/topics/climate.ics?kind=workshop").data)
    assert by_topic.uids() == [_uid(match)]
    org = check_export(client.get(f"/organisations/{match.organisation.slug}.ics").data)
    assert org.uids() == [_uid(match)]


def test_bad_filters_answer_400_in_plain_text(client, make_event):
    make_event()
    for query in ("kind=party", "topic=nope", "from=2027-13-45", "country=XX", "colour=red"):
        response = client.get(f"/calendar.ics?{query}")
        assert response.status_code == 400, query
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert response.data.startswith(b"400 Bad Request\n")
    assert b"Unknown kind of event 'party'" in client.get("/calendar.ics?kind=party").data
    assert b"colour" in client.get("/calendar.ics?colour=red").data


def test_unknown_topic_or_organisation_feed_is_404(client):
    assert client.get("/topics/nothing.ics").status_code == 404
    assert client.get("/organisations/nobody.ics").status_code == 404


def test_conditional_get_answers_304_with_one_query(client, make_event, count_queries):
    event = make_event()
    first = client.get("/calendar.ics")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    with count_queries() as counter:
        again = client.get("/calendar.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert counter.count == 1  # the aggregate; nothing is loaded or built
    assert client.get("/calendar.ics", headers={"If-Modified-Since": modified}).status_code == 304
    # If-None-Match decides when both are sent (RFC 9110)
    both = client.get(
        "/calendar.ics", headers={"If-None-Match": '"other"', "If-Modified-Since": modified}
    )
    assert both.status_code == 200

    event.title = "Renamed"
    db.session.commit()
    changed = client.get("/calendar.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert b"SUMMARY:Renamed" in changed.data
    check_export(changed.data)


def test_304_reads_only_the_catalogue_version(client, make_event, make_topic, count_queries):
    make_event(topics=[make_topic("Climate")])
    etag = client.get("/calendar.ics").headers["ETag"]
    with count_queries() as counter:
        assert client.get("/calendar.ics", headers={"If-None-Match": etag}).status_code == 304
    assert counter.count == 1
    assert "catalogue_versions" in counter.statements[0]
    assert "events" not in counter.statements[0].replace("catalogue_versions", "")


def test_feed_etag_changes_when_a_topic_or_organisation_is_renamed(client, make_event, make_topic):
    climate = make_topic("Climate")
    event = make_event(topics=[climate])
    first = client.get("/calendar.ics")
    climate.name = "Climate and oceans"  # no event row changes
    db.session.commit()
    second = client.get("/calendar.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert b"CATEGORIES:Climate and oceans" in second.data
    check_export(second.data)
    event.organisation.name = "Renamed Institute"
    db.session.commit()
    third = client.get("/calendar.ics", headers={"If-None-Match": second.headers["ETag"]})
    assert third.status_code == 200 and b'CN="Renamed Institute"' in third.data
    check_export(third.data)


def test_personal_and_organisation_feeds_answer_304_with_one_query(
    client, make_event, make_user, make_registration, count_queries
):
    ann = make_user()
    event = make_event()
    make_registration(ann, event, RegistrationStatus.CONFIRMED)
    organisation = event.organisation
    organisation.calendar_token = "organisation-secret"
    db.session.commit()
    for url, lookups in (
        (f"/account/calendar/{_feed_token(ann)}.ics", 1),  # + the token's user
        ("/organisations/feed/organisation-secret.ics", 1),  # + the token's organisation
    ):
        etag = client.get(url).headers["ETag"]
        with count_queries() as counter:
            assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
        assert counter.count == lookups + 1, counter.statements
    url = "/organisations/feed/organisation-secret.ics"
    etag = client.get(url).headers["ETag"]
    event.title = "Moved on"
    db.session.commit()
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200


def test_warm_feed_comes_from_the_cache(client, make_event, count_queries):
    make_event()
    FEED_CACHE.clear()
    cold = client.get("/calendar.ics").data
    with count_queries() as counter:
        warm = client.get("/calendar.ics").data
    assert warm == cold
    check_export(cold)
    assert counter.count == 1  # the version query only


def test_feed_queries_do_not_grow_with_events(client, make_event, make_topic, count_queries):
    topic = make_topic("Climate")
    make_event(topics=[topic])
    FEED_CACHE.clear()
    with count_queries() as small:
        client.get("/calendar.ics")
    for _ in range(8):
        make_event(topics=[topic])
    FEED_CACHE.clear()
    with count_queries() as large:
        response = client.get("/calendar.ics")
    assert len(check_export(response.data).uids()) == 9
    assert large.count == small.count <= 4


def test_moving_an_event_raises_sequence_everywhere(client, make_event):
    event = make_event()
    uid = _uid(event)
    before = check_export(client.get("/calendar.ics").data).ical_events()[uid]
    assert before.decoded("SEQUENCE") == 0
    event.starts_at += timedelta(days=1)
    event.ends_at += timedelta(days=1)
    assert revision.raise_revision_if_shown(event) is True
    db.session.commit()
    for url in ("/calendar.ics", f"/events/{event.slug}.ics"):
        parsed = check_export(client.get(url).data)
        assert parsed.ical_events()[uid].decoded("SEQUENCE") == 1
        assert_times_match(parsed, uid, event)


# --- personal feed -------------------------------------------------------------------------


def test_personal_feed_follows_registration_states(
    client, make_event, make_user, make_registration
):
    ann, bob = make_user(), make_user()
    confirmed, waitlisted, pending, cancelled, other = (make_event() for _ in range(5))
    make_registration(ann, confirmed, RegistrationStatus.CONFIRMED)
    make_registration(ann, waitlisted, RegistrationStatus.WAITLISTED)
    make_registration(ann, pending, RegistrationStatus.PENDING)
    make_registration(ann, cancelled, RegistrationStatus.CANCELLED)
    make_registration(bob, other, RegistrationStatus.CONFIRMED)
    response = client.get(f"/account/calendar/{_feed_token(ann)}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ICS
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "private" in response.headers["Cache-Control"]
    parsed = check_export(response.data)
    events = parsed.ical_events()
    assert list(events) == [_uid(confirmed), _uid(waitlisted), _uid(pending)]
    assert events[_uid(confirmed)]["STATUS"] == "CONFIRMED"
    assert events[_uid(waitlisted)]["STATUS"] == "TENTATIVE"
    assert events[_uid(pending)]["STATUS"] == "TENTATIVE"
    assert bob.email.encode() not in response.data and ann.email.encode() not in response.data


def test_personal_feed_changes_when_a_registration_does(
    client, make_event, make_user, make_registration
):
    ann = make_user()
    event = make_event()
    registration = make_registration(ann, event, RegistrationStatus.WAITLISTED)
    url = f"/account/calendar/{_feed_token(ann)}.ics"
    first = client.get(url)
    registration.status = RegistrationStatus.CONFIRMED  # even without a new updated_at
    db.session.commit()
    second = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert check_export(second.data).ical_events()[_uid(event)]["STATUS"] == "CONFIRMED"


def test_unknown_personal_token_is_404(client):
    assert client.get("/account/calendar/not-a-token.ics").status_code == 404
    assert client.get(f"/account/calendar/{'x' * 300}.ics").status_code == 404


def test_regenerating_the_token_retires_the_old_url(client, make_user, login):
    ann = make_user()
    old = _feed_token(ann)
    login(ann)
    response = client.post("/account/calendar/regenerate")
    # The new address is shown on this one page, never stored.
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    page = response.get_data(as_text=True)
    new = re.search(r"http://localhost/account/calendar/([^.\"]+)\.ics", page).group(1)
    assert new != old
    db.session.refresh(ann)
    assert new not in (ann.calendar_token_hash, old) and old not in ann.calendar_token_hash
    assert "shown only now" in page
    assert f"webcal://localhost/account/calendar/{new}.ics" in page
    assert "https://calendar.google.com/calendar/render?cid=webcal://localhost/account/" in page
    assert client.get(f"/account/calendar/{old}.ics").status_code == 404
    assert client.get(f"/account/calendar/{new}.ics").status_code == 200
    # Nowhere else: the account page no longer has it.
    assert new not in client.get("/account/").get_data(as_text=True)


def test_regenerating_needs_csrf_and_login(csrf_enabled, client, make_user, login):
    ann = make_user()
    old = ann.calendar_token_hash
    # Anonymous: a post without a token is refused before anything else; with a valid
    # token it is sent to log in.
    assert client.post("/account/calendar/regenerate").status_code == 400
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    anonymous = client.post("/account/calendar/regenerate", data={"csrf_token": token})
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login")
    _switch_user(login, ann)
    assert client.post("/account/calendar/regenerate").status_code == 400
    db.session.refresh(ann)
    assert ann.calendar_token_hash == old
    page = client.get("/account/calendar/").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert (
        client.post("/account/calendar/regenerate", data={"csrf_token": token}).status_code == 200
    )
    db.session.refresh(ann)
    assert ann.calendar_token_hash != old


def test_account_page_offers_to_make_the_personal_feed(client, make_user, login):
    """Only the token's hash is stored: the account page cannot show an address, it
    offers to make one (shown once, on the next page)."""
    ann = make_user()
    login(ann)
    page = client.get("/account/").get_data(as_text=True)
    assert "/account/calendar/" not in page.replace('action="/account/calendar/regenerate"', "")
    assert "shown once, when it is made" in page
    assert 'action="/account/calendar/regenerate"' in page


def test_organisation_export_is_for_members_only(client, make_event, make_user, make_member, login):
    event = make_event()
    organisation: Organisation = event.organisation
    draft = make_event(organisation=organisation, status=EventStatus.DRAFT, published_at=None)
    url = f"/account/organisations/{organisation.slug}/events.ics"
    assert client.get(url).status_code == 302  # to the login page
    _switch_user(login, make_user())
    assert client.get(url).status_code == 403
    _switch_user(login, make_member(organisation))
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{organisation.slug}-events.ics"'
    )
    events = check_export(response.data).ical_events()
    assert set(events) == {_uid(event), _uid(draft)}
    assert str(events[_uid(draft)]["SUMMARY"]) == f"[Draft] {draft.title}"
    assert events[_uid(draft)]["STATUS"] == "TENTATIVE"
    assert events[_uid(event)]["STATUS"] == "CONFIRMED"


def test_organisation_private_feed_token(client, make_event, make_user, make_member, login):
    event = make_event()
    organisation = event.organisation
    make_event(organisation=organisation, status=EventStatus.DRAFT, published_at=None)
    assert organisation.calendar_token is None
    login(make_user())
    assert client.get(f"/account/organisations/{organisation.slug}/calendar").status_code == 403
    _switch_user(login, make_member(organisation))
    page = client.get(f"/account/organisations/{organisation.slug}/calendar")
    assert page.status_code == 200
    db.session.refresh(organisation)
    token = organisation.calendar_token
    assert token and f"/organisations/feed/{token}.ics" in page.get_data(as_text=True)
    feed = client.get(f"/organisations/feed/{token}.ics")
    assert feed.status_code == 200
    assert feed.headers["Content-Disposition"].startswith("inline")
    assert len(check_export(feed.data).uids()) == 2
    client.post(f"/account/organisations/{organisation.slug}/calendar/regenerate")
    db.session.refresh(organisation)
    assert organisation.calendar_token != token
    assert client.get(f"/organisations/feed/{token}.ics").status_code == 404
    assert client.get("/organisations/feed/unknown.ics").status_code == 404


# --- buttons on pages ----------------------------------------------------------------------


def test_event_page_has_add_to_calendar(client, make_event):
    event = make_event(
        starts_at=datetime(2027, 5, 12, 7, 0, tzinfo=UTC),
        ends_at=datetime(2027, 5, 12, 15, 30, tzinfo=UTC),
    )
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert "Add to calendar" in page
    assert f'href="/events/{event.slug}.ics"' in page
    assert "dates=20270512T070000Z/20270512T153000Z" in page
    assert "startdt=2027-05-12T07:00:00Z" in page
    assert "https://outlook.office.com/calendar/0/deeplink/compose?" in page
    # "Subscribe (updates follow)" is the event's own named feed, not the download.
    feed = f"/events/{event.slug}/calendar.ics"
    assert f'href="webcal://localhost{feed}"' in page
    assert f"https://calendar.google.com/calendar/render?cid=webcal://localhost{feed}" in page
    assert f"https://outlook.live.com/calendar/0/addfromweb?url=http://localhost{feed}" in page


def test_single_event_feed_is_a_named_calendar_that_refreshes(client, make_event):
    event = make_event(title="Lab: Science, Tech; Open")
    response = client.get(f"/events/{event.slug}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ICS
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.headers["Cache-Control"] == "public, max-age=300"
    parsed = check_export(response.data)
    assert parsed.uids() == [_uid(event)]
    # Both are TEXT, so escaped (icalendar hands these properties back as written).
    assert str(parsed.ical["X-WR-CALNAME"]) == r"Lab: Science\, Tech\; Open"
    assert str(parsed.ical["NAME"]) == r"Lab: Science\, Tech\; Open"
    assert "REFRESH-INTERVAL" in parsed.ical and "X-PUBLISHED-TTL" in parsed.ical
    assert "METHOD" not in parsed.ical
    # Its ETag is its own, not the download's (other bytes).
    download = client.get(f"/events/{event.slug}.ics")
    assert download.headers["ETag"] != response.headers["ETag"]
    assert client.get("/events/no-such-event/calendar.ics").status_code == 404


def test_listing_offers_subscribe_to_this_list(client, make_event, make_topic):
    make_event(topics=[make_topic("Climate")])
    page = client.get("/events/?topic=climate").get_data(as_text=True)
    assert "Subscribe to this list" in page
    assert "webcal://localhost/calendar.ics?topic=climate" in page
    assert "cid=webcal://localhost/calendar.ics%3Ftopic%3Dclimate" in page
    assert "/addfromweb?url=http://localhost/calendar.ics%3Ftopic%3Dclimate" in page
    topic_page = client.get("/topics/climate").get_data(as_text=True)
    assert "webcal://localhost/topics/climate.ics" in topic_page


def test_secret_feeds_and_the_pages_showing_them_are_never_stored(
    client, make_event, make_user, make_member, login
):
    """Issue #13 item 11: a secret address is a password; no cache on the way keeps it."""
    event = make_event()
    organisation = event.organisation
    member = make_member(organisation)
    login(member)
    pages = [
        client.get("/account/"),
        client.get("/account/calendar/"),
        client.get(f"/account/organisations/{organisation.slug}/calendar"),
    ]
    db.session.refresh(organisation)
    feeds = [
        client.get(f"/account/calendar/{_feed_token(member)}.ics"),
        client.get(f"/organisations/feed/{organisation.calendar_token}.ics"),
        client.get(f"/account/organisations/{organisation.slug}/events.ics"),
    ]
    for response in pages + feeds:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "private, no-store"
    public = client.get("/calendar.ics")
    assert public.headers["Cache-Control"] == "public, max-age=300"
