"""Feed rules, versions, the cache and the "Add to calendar" links."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from eventsite import catalogue, timeutil
from eventsite.extensions import db
from eventsite.feeds import links as feed_links
from eventsite.feeds import queries, versions
from eventsite.feeds.cache import FeedCache
from eventsite.models import EventStatus


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_google_and_outlook_links_carry_utc_times(app, make_event):
    event = make_event(
        title="Forum on water",
        summary="Two days on rivers.",
        timezone="America/New_York",
        starts_at=datetime(2027, 11, 6, 22, 0, tzinfo=UTC),
        ends_at=datetime(2027, 11, 7, 17, 0, tzinfo=UTC),
    )
    links = feed_links.calendar_links(event)
    assert links.download == f"http://localhost/events/{event.slug}.ics"
    assert links.subscribe.url == f"http://localhost/events/{event.slug}/calendar.ics"
    google = _query(links.google)
    assert google["ctz"] == "America/New_York"  # shown in the event's zone (#13 item 14)
    assert links.google.startswith("https://calendar.google.com/calendar/render?")
    assert google["action"] == "TEMPLATE"
    assert google["text"] == "Forum on water"
    assert google["dates"] == "20271106T220000Z/20271107T170000Z"
    assert google["details"] == f"Two days on rivers.\n\nhttp://localhost/events/{event.slug}"
    assert google["location"] == "Congress Centre, Main street 1, Geneva, Switzerland"
    outlook = _query(links.outlook)
    assert links.outlook.startswith("https://outlook.live.com/calendar/0/deeplink/compose?")
    assert outlook["subject"] == "Forum on water"
    assert outlook["startdt"] == "2027-11-06T22:00:00Z"
    assert outlook["enddt"] == "2027-11-07T17:00:00Z"
    assert outlook["body"] == google["details"]
    assert outlook["location"] == google["location"]
    # Microsoft 365 (work or school accounts): the same link on its own host.
    assert links.office365.startswith("https://outlook.office.com/calendar/0/deeplink/compose?")
    assert _query(links.office365) == outlook


def test_feed_links_subscribe_in_google_outlook_and_microsoft_365(app):
    url = "https://events.example.org/calendar.ics?topic=climate&city=Z%C3%BCrich"
    subscribe = feed_links.feed_links(url, "Climate: talks, forums; more")
    assert (
        subscribe.webcal
        == "webcal://events.example.org/calendar.ics?topic=climate&city=Z%C3%BCrich"
    )
    assert subscribe.google.startswith("https://calendar.google.com/calendar/render?")
    assert _query(subscribe.google) == {"cid": subscribe.webcal}
    for link, host in (
        (subscribe.outlook, "outlook.live.com"),
        (subscribe.office365, "outlook.office.com"),
    ):
        assert link.startswith(f"https://{host}/calendar/0/addfromweb?")
        assert _query(link) == {"url": url, "name": "Climate: talks, forums; more"}


def test_links_of_an_all_day_event_use_dates(app, make_event):
    starts_at, ends_at = timeutil.all_day_bounds(date(2027, 5, 12), date(2027, 5, 14), "Asia/Tokyo")
    event = make_event(timezone="Asia/Tokyo", is_all_day=True, starts_at=starts_at, ends_at=ends_at)
    links = feed_links.calendar_links(event)
    assert _query(links.google)["dates"] == "20270512/20270515"
    outlook = _query(links.outlook)
    assert (outlook["startdt"], outlook["enddt"], outlook["allday"]) == (
        "2027-05-12",
        "2027-05-15",
        "true",
    )


def test_feed_filters_are_strict(app, make_topic):
    make_topic("Climate")
    filters = queries.parse_feed_filters({"topic": "climate", "kind": "workshop"})
    assert (filters.topic, filters.kind) == ("climate", "workshop")
    with pytest.raises(queries.FeedError, match="Unknown topic"):
        queries.parse_feed_filters({"topic": "nope"})
    with pytest.raises(queries.FeedError, match="Unknown parameter"):
        queries.parse_feed_filters({"page": "2"})
    fixed = queries.parse_feed_filters({"topic": "nope"}, fixed={"topic": "climate"})
    assert fixed.topic == "climate"


def test_feed_version_changes_with_membership_and_edits(app, make_event):
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    filters = queries.parse_feed_filters({})
    event = make_event()

    def version(at: datetime = now):
        return versions.public_feed_version(filters, at)

    first = version()
    assert version() == first
    stamp = catalogue.current(db.session)
    assert stamp.changed_at >= event.updated_at  # saving the event moved the catalogue
    assert first.last_modified == max(stamp.changed_at, queries.window_day(now))
    assert version(now + timedelta(hours=11)) == first  # the same UTC day
    assert version(now + timedelta(days=1)).etag != first.etag  # the window moved
    assert (
        versions.public_feed_version(queries.parse_feed_filters({"kind": "workshop"}), now).etag
        != first.etag
    )
    event.status = EventStatus.DRAFT  # leaves the feed
    db.session.commit()
    second = version()
    assert second.etag != first.etag
    event.status = EventStatus.PUBLISHED
    event.revision = 1
    db.session.commit()
    assert version().etag not in (first.etag, second.etag)


def test_feed_window_starts_at_a_utc_midnight(app, make_event):
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    cutoff = datetime(2026, 8, 31, 0, 0, tzinfo=UTC)  # 90 days before 29 November
    inside = make_event(starts_at=cutoff - timedelta(hours=7))  # ends 01:00 on the 31st
    outside = make_event(starts_at=cutoff - timedelta(hours=8))  # ends at the cutoff
    filters = queries.parse_feed_filters({})
    for at in (now.replace(hour=0), now, now.replace(hour=23, minute=59)):
        ids = [e.id for e in queries.load_events(queries.feed_events(filters, at))]
        assert inside.id in ids and outside.id not in ids


def test_feed_cache_is_bounded_by_entries_and_bytes():
    cache = FeedCache(max_entries=2, max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"
    cache.put("c", b"1234")  # evicts the least recently used: b
    assert cache.get("b") is None and cache.get("a") and cache.get("c")
    cache.put("d", b"12345678")  # over 10 bytes together: evicts until it fits
    assert cache.get("d") == b"12345678"
    assert cache.get("a") is None
    cache.put("huge", b"x" * 11)
    assert cache.get("huge") is None
    built = []
    assert cache.get_or_build("e", lambda: built.append(1) or b"ok") == b"ok"
    assert cache.get_or_build("e", lambda: built.append(1) or b"ok") == b"ok"
    assert built == [1]
