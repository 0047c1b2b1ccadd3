"""Events at the edges of what a datetime can hold (years 1 and 9999). The organiser form
limits the years it accepts; rows written otherwise (imports, the shell, an older form)
are created here directly, and every calendar built from them must still be valid."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from flask import g

from eventsite import timeutil
from eventsite.extensions import db
from eventsite.feeds import links as feed_links
from eventsite.feeds import tokens
from eventsite.ical import builders, content, vevent, vtimezone
from eventsite.registration.models import RegistrationStatus

from .ics_check import check_export

ZURICH = "Europe/Zurich"


def _uid(item, kind: str = "event") -> str:
    return f"{kind}-{item.id}@localhost"


def _far_event(make_event, **overrides):
    """The audit's case: 12 May 9998, 09:00 in Zurich, published."""
    start = timeutil.local_to_utc(datetime(9998, 5, 12, 9), ZURICH)
    return make_event(starts_at=start, ends_at=start + timedelta(hours=8), **overrides)


def test_an_event_in_9998_is_served_by_every_feed_that_holds_it(
    client, make_event, make_topic, make_session, make_user, make_registration, make_member, login
):
    climate = make_topic("Climate")
    far = _far_event(make_event, slug="far-future", topics=[climate])
    session = make_session(far)
    near = make_event(organisation=far.organisation, topics=[climate])
    ann = make_user()
    make_registration(ann, far, RegistrationStatus.CONFIRMED)
    make_registration(ann, near, RegistrationStatus.WAITLISTED)
    organisation = far.organisation
    organisation.calendar_token = "organisation-secret"
    token = tokens.regenerate_user_calendar_token(ann)
    db.session.commit()
    login(make_member(organisation))
    urls = [
        "/calendar.ics",
        "/topics/climate.ics",
        f"/organisations/{organisation.slug}.ics",
        f"/account/calendar/{token}.ics",
        f"/account/organisations/{organisation.slug}/events.ics",
        "/organisations/feed/organisation-secret.ics",
        "/events/far-future.ics",
        "/events/far-future.ics?sessions=1",
    ]
    for url in urls:
        g.pop("_login_user", None)  # one app context for the whole test (see test_views)
        response = client.get(url)
        assert response.status_code == 200, url
        parsed = check_export(response.data)  # times == the database's, in UTC
        assert _uid(far) in parsed.uids(), url
    data = client.get("/events/far-future.ics?sessions=1").data
    assert _uid(session, "session") in check_export(data).uids()
    feed = client.get("/calendar.ics").data
    assert b"DTSTART;TZID=Europe/Zurich:99980512T090000\r\n" in feed
    # The zone covers the years around each time written, not the 8,000 years between.
    assert feed.count(b"\r\nRDATE:") < 20
    assert b"RDATE:5000" not in feed


def test_the_builders_take_the_far_event_without_a_request(make_event, make_user):
    far = _far_event(make_event)
    attendee = content.Attendee(email="ann@example.org", name="Ann", partstat="ACCEPTED")
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    check_export(builders.build_feed([far], name="far"))
    for method in (None, "REQUEST", "CANCEL"):
        data = builders.build_event_calendar(far, method=method, attendee=attendee, now=now)
        check_export(data)


def test_instants_past_the_last_wall_clock_day_are_written_in_utc(make_event, make_session):
    # 31 December 9999 15:00 UTC is already 10000-01-01 05:00 on Kiritimati (UTC+14).
    kiritimati = make_event(
        timezone="Pacific/Kiritimati",
        starts_at=datetime(9999, 12, 31, 15, tzinfo=UTC),
        ends_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    )
    session = make_session(kiritimati)
    # Starts on a wall clock in Zurich, ends where Zurich's clock would say year 10000.
    zurich = make_event(
        timezone=ZURICH,
        starts_at=datetime(9999, 12, 30, 20, tzinfo=UTC),
        ends_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    )
    feed = builders.build_feed([kiritimati, zurich], name="the end")
    check_export(feed)
    assert b"DTSTART:99991231T150000Z\r\n" in feed
    assert b"DTSTART;TZID=Europe/Zurich:99991230T210000\r\n" in feed
    assert b"DTEND:99991231T235959Z\r\n" in feed
    with_sessions = builders.build_event_calendar(kiritimati, with_sessions=True)
    assert _uid(session, "session") in check_export(with_sessions).uids()
    check_export(builders.build_event_calendar(zurich, method="REQUEST"))


def test_instants_in_year_one_are_read_back_in_any_zone(make_event):
    new_york = "America/New_York"
    first_day = make_event(  # before any zone's wall clock can be written safely
        timezone=new_york,
        starts_at=datetime(1, 1, 1, 0, 0, tzinfo=UTC),
        ends_at=datetime(1, 1, 1, 8, 0, tzinfo=UTC),
    )
    third_day = make_event(  # local mean time, -4:56:02: ical.js reads offsets to the minute
        timezone=new_york,
        starts_at=timeutil.local_to_utc(datetime(1, 1, 3, 9), new_york),
        ends_at=timeutil.local_to_utc(datetime(1, 1, 3, 17), new_york),
    )
    feed = builders.build_feed([first_day, third_day], name="year one")
    check_export(feed)
    assert b"DTSTART:00010101T000000Z\r\n" in feed
    assert b"DTSTART:00010103T135602Z\r\n" in feed
    check_export(builders.build_event_calendar(third_day, method="REQUEST"))


def test_all_day_events_at_the_end_of_year_9999(app, make_event):
    # 30 December 9999: its exclusive end, 31 December, is still a DATE.
    second_to_last = make_event(
        timezone=ZURICH,
        is_all_day=True,
        starts_at=timeutil.local_day_start(date(9999, 12, 30), ZURICH),
        ends_at=timeutil.local_day_start(date(9999, 12, 31), ZURICH),
    )
    # 31 December 9999: the day after cannot be written, so the instants go in UTC.
    last = make_event(
        timezone=ZURICH,
        is_all_day=True,
        starts_at=timeutil.local_day_start(date(9999, 12, 31), ZURICH),
        ends_at=datetime(9999, 12, 31, 23, 0, tzinfo=UTC),  # local midnight, 10000-01-01
    )
    feed = builders.build_feed([second_to_last, last], name="last days")
    check_export(feed)
    assert b"DTSTART;VALUE=DATE:99991230\r\nDTEND;VALUE=DATE:99991231\r\n" in feed
    assert b"DTSTART:99991230T230000Z\r\nDTEND:99991231T230000Z\r\n" in feed
    check_export(builders.build_event_calendar(last))
    google = parse_qs(urlsplit(feed_links.calendar_links(last).google).query)
    assert google["dates"] == ["99991230T230000Z/99991231T230000Z"]
    google = parse_qs(urlsplit(feed_links.calendar_links(second_to_last).google).query)
    assert google["dates"] == ["99991230/99991231"]


def test_links_write_four_digit_years(app, make_event):
    early = make_event(
        timezone="UTC",
        starts_at=datetime(999, 5, 12, 9, tzinfo=UTC),
        ends_at=datetime(999, 5, 12, 17, tzinfo=UTC),
    )
    links = feed_links.calendar_links(early)
    assert parse_qs(urlsplit(links.google).query)["dates"] == ["09990512T090000Z/09990512T170000Z"]
    assert parse_qs(urlsplit(links.outlook).query)["startdt"] == ["0999-05-12T09:00:00Z"]


def test_edge_events_are_the_same_bytes_in_feeds_and_single_files(make_event):
    """Feeds join cached VEVENT bytes; at the edges too they are icalendar's own."""
    events = [
        _far_event(make_event),
        make_event(
            timezone="Pacific/Kiritimati",
            starts_at=datetime(9999, 12, 31, 15, tzinfo=UTC),
            ends_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        ),
        make_event(
            timezone=ZURICH,
            is_all_day=True,
            starts_at=timeutil.local_day_start(date(9999, 12, 31), ZURICH),
            ends_at=datetime(9999, 12, 31, 23, 0, tzinfo=UTC),
        ),
        make_event(
            timezone="America/New_York",
            starts_at=datetime(1, 1, 1, 0, 0, tzinfo=UTC),
            ends_at=datetime(1, 1, 1, 8, 0, tzinfo=UTC),
        ),
    ]
    settings = content.current_settings()
    words = content.current_words()
    feed = builders.build_feed(events, name="edges")
    check_export(feed)
    for event in events:
        component = vevent.event_component(event, settings, words=words).to_ical()
        assert component in feed
        assert component in builders.build_event_calendar(event)


def test_zone_spans_cover_the_years_written_only():
    def at(year: int) -> datetime:
        return datetime(year, 6, 1, tzinfo=UTC)

    spans = vtimezone.zone_spans(
        [
            (ZURICH, at(2026), at(2026)),
            (ZURICH, at(2027), at(2027)),
            (ZURICH, at(9998), at(9998)),
            ("UTC", at(5000), at(5000)),  # UTC needs no VTIMEZONE
            ("Asia/Tokyo", at(1), at(9999)),  # a span of 9,998 years: its two ends only
        ]
    )
    assert spans == {
        ZURICH: ((2025, 2028), (9997, 9999)),
        "Asia/Tokyo": ((1, 2), (9998, 9999)),
    }


def test_a_rule_change_between_spans_gets_its_own_onset(make_event):
    """Moscow kept +04 from March 2011 to October 2014. With events in 2008 and 2013 the
    zone is written for 2007-2009 and 2012-2014; the change falls in the gap, so the
    second span starts with an onset of its own (or readers of the VTIMEZONE would take
    January 2013 in +03, the last rule listed)."""
    moscow = "Europe/Moscow"
    events = [
        make_event(
            timezone=moscow,
            starts_at=timeutil.local_to_utc(datetime(year, month, 15, 12), moscow),
            ends_at=timeutil.local_to_utc(datetime(year, month, 15, 18), moscow),
        )
        for year, month in ((2008, 1), (2013, 1), (2013, 7))
    ]
    assert vtimezone.zone_spans((e.timezone, e.starts_at, e.ends_at) for e in events) == {
        moscow: ((2007, 2009), (2012, 2014))
    }
    check_export(builders.build_feed(events, name="Moscow"))  # vobject reads the VTIMEZONE
    zone = vtimezone.vtimezone_bytes(moscow, ((2007, 2009), (2012, 2014))).decode()
    assert "20120101T030000" in zone  # 2012-01-01 00:00 UTC in the +03 before it
