"""The files themselves: every export parsed by icalendar and vobject, instants compared
with the database in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eventsite import timeutil
from eventsite.extensions import db
from eventsite.ical import builders, content, vevent, vtimezone
from eventsite.models import EventFormat, EventStatus

from .ics_check import assert_times_match, check_export, instants


def _event_ics(event, **kwargs):
    return builders.build_event_calendar(event, base_url="http://localhost", **kwargs)


def test_event_calendar_has_the_rfc_5545_properties(make_event, make_topic):
    climate, energy = make_topic("Climate"), make_topic("Energy")
    event = make_event(
        title="Forum on water",
        summary="Two days on rivers.",
        description="## Programme\n\nTalks by **experts** and [a link](https://example.org).",
        latitude=46.2044,
        longitude=6.1432,
        topics=[climate, energy],
        revision=3,
    )
    parsed = check_export(_event_ics(event))
    uid = f"event-{event.id}@localhost"
    assert parsed.uids() == [uid]
    vevent = parsed.ical_events()[uid]
    assert str(vevent["SUMMARY"]) == "Forum on water"
    description = str(vevent["DESCRIPTION"])
    assert "Talks by experts and a link." in description and "**" not in description
    assert description.endswith(f"http://localhost/events/{event.slug}")
    assert str(vevent["URL"]) == f"http://localhost/events/{event.slug}"
    assert str(vevent["LOCATION"]) == "Congress Centre, Main street 1, Geneva, Switzerland"
    assert (vevent["GEO"].latitude, vevent["GEO"].longitude) == (46.2044, 6.1432)
    assert [str(c) for c in vevent["CATEGORIES"].cats] == ["Climate", "Energy"]
    assert vevent["ORGANIZER"] == "mailto:no-reply@eventsite.test"
    assert vevent["ORGANIZER"].params["CN"] == event.organisation.name
    assert vevent["STATUS"] == "CONFIRMED"
    assert vevent.decoded("SEQUENCE") == 3
    assert vevent.decoded("CREATED") == event.created_at.replace(microsecond=0)
    assert vevent.decoded("LAST-MODIFIED") == event.updated_at.replace(microsecond=0)
    assert vevent.decoded("DTSTAMP") == event.updated_at.replace(microsecond=0)
    assert "METHOD" not in parsed.ical
    assert str(vevent["DTSTART"].to_ical().decode()) and vevent["DTSTART"].params["TZID"] == (
        "Europe/Zurich"
    )
    assert_times_match(parsed, uid, event)
    # vobject reads the same text
    v = parsed.vobject_events()[uid]
    assert v.summary.value == "Forum on water" and v.sequence.value == "3"


def test_times_survive_the_new_york_november_change(make_event):
    tz = "America/New_York"
    across = make_event(  # Saturday 18:00 EDT to Sunday 12:00 EST, 7 November 2027
        timezone=tz,
        starts_at=timeutil.local_to_utc(datetime(2027, 11, 6, 18), tz),
        ends_at=timeutil.local_to_utc(datetime(2027, 11, 7, 12), tz),
    )
    assert across.ends_at - across.starts_at == timedelta(hours=19)
    # 01:30 happens twice that night: ical.js reads a TZID 01:30 as the second, RFC 5545
    # as the first, so both are written in UTC.
    second = datetime(2027, 11, 7, 6, 30, tzinfo=UTC)
    ambiguous = make_event(timezone=tz, starts_at=second, ends_at=second + timedelta(hours=2))
    first = datetime(2027, 11, 7, 5, 30, tzinfo=UTC)
    first_occurrence = make_event(timezone=tz, starts_at=first, ends_at=first + timedelta(hours=3))
    data = builders.build_feed([across, ambiguous, first_occurrence], name="NY")
    parsed = check_export(data)
    for event in (across, ambiguous, first_occurrence):
        assert_times_match(parsed, f"event-{event.id}@localhost", event)
    assert b"DTSTART:20271107T063000Z" in data
    assert b"DTSTART:20271107T053000Z" in data
    assert b"DTSTART;TZID=America/New_York:20271106T180000" in data  # not ambiguous


def test_times_survive_the_zurich_march_change(make_event):
    tz = "Europe/Zurich"
    across = make_event(
        timezone=tz,
        starts_at=timeutil.local_to_utc(datetime(2027, 3, 27, 10), tz),
        ends_at=timeutil.local_to_utc(datetime(2027, 3, 28, 18), tz),
    )
    # 03:30 CEST on the morning of the change: an hour after the clocks jumped.
    early = make_event(
        timezone=tz,
        starts_at=timeutil.local_to_utc(datetime(2027, 3, 28, 3, 30), tz),
        ends_at=timeutil.local_to_utc(datetime(2027, 3, 28, 5, 0), tz),
    )
    assert early.starts_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    parsed = check_export(builders.build_feed([across, early], name="Zurich"))
    for event in (across, early):
        assert_times_match(parsed, f"event-{event.id}@localhost", event)


def test_vtimezone_onsets_are_in_the_offset_before_the_change():
    """RFC 5545 3.6.5: DTSTART of an observance is local time in TZOFFSETFROM."""
    text = vtimezone.vtimezone_bytes("Europe/Zurich", ((2026, 2028),)).decode()
    daylight = text.split("BEGIN:DAYLIGHT")[1].split("END:DAYLIGHT")[0]
    assert "DTSTART:20260329T020000" in daylight  # 02:00 CET == 01:00 UTC
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n" in daylight
    standard = text.split("BEGIN:STANDARD")[1].split("END:STANDARD")[0]
    assert "DTSTART:20261025T030000" in standard  # 03:00 CEST == 01:00 UTC
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n" in standard


def test_all_day_event_is_dates_with_an_exclusive_end(make_event):
    tz = "Asia/Tokyo"
    starts_at, ends_at = timeutil.all_day_bounds(
        datetime(2027, 5, 12).date(), datetime(2027, 5, 14).date(), tz
    )
    event = make_event(timezone=tz, is_all_day=True, starts_at=starts_at, ends_at=ends_at)
    data = _event_ics(event)
    parsed = check_export(data)
    uid = f"event-{event.id}@localhost"
    assert instants(parsed, uid) == (datetime(2027, 5, 12).date(), datetime(2027, 5, 15).date())
    assert b"DTSTART;VALUE=DATE:20270512" in data and b"DTEND;VALUE=DATE:20270515" in data
    assert b"BEGIN:VTIMEZONE" not in data  # dates need no zone
    assert_times_match(parsed, uid, event)


def test_utc_event_uses_utc_times_and_no_vtimezone(make_event):
    event = make_event(timezone="UTC")
    data = _event_ics(event)
    assert b"BEGIN:VTIMEZONE" not in data
    assert f"DTSTART:{event.starts_at:%Y%m%dT%H%M%S}Z".encode() in data
    assert_times_match(check_export(data), f"event-{event.id}@localhost", event)


def test_long_multibyte_title_is_folded_between_characters(make_event):
    title = "Zürich–東京 Forum über Klimawandel und Gesellschaft — 気候変動と社会の未来 " * 2
    event = make_event(title=title.strip()[:200])
    data = _event_ics(event)
    parsed = check_export(data)  # checks 75 octets and UTF-8 per physical line
    assert sum(1 for line in data.split(b"\r\n") if line.startswith(b" ")) >= 3
    uid = f"event-{event.id}@localhost"
    assert str(parsed.ical_events()[uid]["SUMMARY"]) == event.title
    assert parsed.vobject_events()[uid].summary.value == event.title


def test_text_is_escaped(make_event):
    event = make_event(title="Commas, semicolons; and \\ backslashes", venue_name="Hall A; B")
    parsed = check_export(_event_ics(event))
    vevent = parsed.vobject_events()[f"event-{event.id}@localhost"]
    assert vevent.summary.value == "Commas, semicolons; and \\ backslashes"
    assert vevent.location.value.startswith("Hall A; B, ")


def test_geo_is_a_plain_decimal_never_an_exponent(make_event):
    """RFC 5545 FLOAT has no exponent: 0.00001 is written so, not as Python's 1e-05."""
    cases = [
        ((0.00001, -0.00005), "0.00001;-0.00005"),
        ((46.2044, 6.1432), "46.2044;6.1432"),
        ((-0.0000001, 12.3456789), "0;12.345679"),  # six decimals at most
        ((90.0, -180.0), "90;-180"),
    ]
    events = [make_event(latitude=lat, longitude=lon) for (lat, lon), _text in cases]
    feed = builders.build_feed(events, name="geo")
    check_export(feed)  # also refuses any GEO that is not digits and one point
    for event, ((lat, lon), text) in zip(events, cases, strict=True):
        line = f"GEO:{text}\r\n".encode()
        single = _event_ics(event)
        assert line in feed and line in single
        uid = f"event-{event.id}@localhost"
        parsed = check_export(single)
        assert parsed.vobject_events()[uid].geo.value == text
        geo = parsed.ical_events()[uid]["GEO"]
        assert abs(geo.latitude - lat) < 1e-6 and abs(geo.longitude - lon) < 1e-6
    assert content.geo_float(-0.0) == "0"
    assert content.geo_float(1e-05) == "0.00001"


def test_online_event_location_and_private_link(make_event):
    event = make_event(
        format=EventFormat.ONLINE,
        venue_name="",
        city="",
        country=None,
        online_url="https://meet.example.org/secret",
    )
    public = _event_ics(event)
    assert b"LOCATION:Online" in public
    assert b"meet.example.org" not in public  # the join link is for registrants
    invitation = _event_ics(event, method="REQUEST")
    assert b"meet.example.org/secret" in invitation.replace(b"\r\n ", b"")


def test_sessions_are_related_to_their_event(make_event, make_session, make_speaker):
    event = make_event()
    ada = make_speaker("Ada Example")
    first = make_session(event, title="Opening", speakers=[ada], room="Room 1")
    second = make_session(event, title="Closing", starts_at=event.starts_at + timedelta(hours=5))
    parsed = check_export(_event_ics(event, with_sessions=True))
    event_uid = f"event-{event.id}@localhost"
    assert parsed.uids() == [
        event_uid,
        f"session-{first.id}@localhost",
        f"session-{second.id}@localhost",
    ]
    for session in (first, second):
        uid = f"session-{session.id}@localhost"
        vevent = parsed.ical_events()[uid]
        assert str(vevent["RELATED-TO"]) == event_uid
        assert vevent["RELATED-TO"].params["RELTYPE"] == "PARENT"
        assert instants(parsed, uid) == (session.starts_at, session.ends_at)
    assert "Ada Example" in str(
        parsed.ical_events()[f"session-{first.id}@localhost"]["DESCRIPTION"]
    )
    assert str(parsed.ical_events()[f"session-{first.id}@localhost"]["LOCATION"]).startswith(
        "Room 1"
    )


def test_request_and_cancel_carry_method_organizer_and_attendee(make_event):
    event = make_event(revision=2)
    attendee = content.Attendee(email="ann@example.org", name="Ann Example")
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    request = check_export(_event_ics(event, method="REQUEST", attendee=attendee, now=now))
    assert request.ical["METHOD"] == "REQUEST"
    vevent = request.ical_events()[f"event-{event.id}@localhost"]
    assert vevent["ATTENDEE"] == "mailto:ann@example.org"
    assert vevent["ATTENDEE"].params["CN"] == "Ann Example"
    assert vevent["ATTENDEE"].params["RSVP"] == "FALSE"
    assert vevent["ORGANIZER"] == "mailto:no-reply@eventsite.test"
    assert vevent.decoded("DTSTAMP") == now
    assert vevent.decoded("SEQUENCE") == 2

    event.status = EventStatus.CANCELLED
    event.revision = 3
    db.session.commit()
    cancel = check_export(_event_ics(event, method="CANCEL", attendee=attendee, now=now))
    assert cancel.ical["METHOD"] == "CANCEL"
    vevent = cancel.ical_events()[f"event-{event.id}@localhost"]
    assert vevent["STATUS"] == "CANCELLED" and vevent.decoded("SEQUENCE") == 3
    assert cancel.vcal.method.value == "CANCEL"


def test_feed_has_name_and_refresh_hints(app, make_event):
    app.config["CALENDAR_REFRESH_MINUTES"] = 90
    event = make_event(status=EventStatus.CANCELLED, revision=1, cancellation_reason="Storm.")
    data = builders.build_feed([event], name="eventsite: Climate")
    parsed = check_export(data)
    assert parsed.ical["NAME"] == "eventsite: Climate"
    assert parsed.ical["X-WR-CALNAME"] == "eventsite: Climate"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H30M\r\n" in data
    assert b"X-PUBLISHED-TTL:PT1H30M\r\n" in data
    vevent = parsed.ical_events()[f"event-{event.id}@localhost"]
    assert vevent["STATUS"] == "CANCELLED"
    assert str(vevent["SUMMARY"]).startswith("Cancelled: ")
    assert "Storm." in str(vevent["DESCRIPTION"])


def test_uid_domain_comes_from_configuration(app, make_event):
    app.config["ICAL_UID_DOMAIN"] = "events.example.org"
    event = make_event()
    assert content.event_uid(event) == f"event-{event.id}@events.example.org"
    parsed = check_export(_event_ics(event))
    assert parsed.uids() == [f"event-{event.id}@events.example.org"]


def test_vevent_cache_follows_every_change(make_event, make_topic):
    event = make_event(title="Before")
    first = builders.build_feed([event], name="x")
    assert builders.build_feed([event], name="x") == first
    event.title = "After"
    db.session.commit()
    assert b"SUMMARY:After" in builders.build_feed([event], name="x")
    oceans = make_topic("Oceans")
    event.topics.append(oceans)  # the event row itself does not change
    db.session.commit()
    assert b"CATEGORIES:Oceans" in builders.build_feed([event], name="x")


def _variants():
    return [
        content.PUBLIC,
        content.Variant(status="TENTATIVE", summary_prefix="[Draft] ", show_online_url=True),
        content.Variant(status="CONFIRMED", show_online_url=True),
    ]


def test_feed_vevents_are_the_icalendar_components_bytes(make_event, make_topic):
    """A feed is its head and cached VEVENT bytes joined; each must be icalendar's own
    serialisation of the component, for every kind of event and way it appears."""
    ny = "America/New_York"
    second_half_past_one = datetime(2027, 11, 7, 6, 30, tzinfo=UTC)
    all_day = timeutil.all_day_bounds(
        datetime(2027, 5, 12).date(), datetime(2027, 5, 14).date(), "Asia/Tokyo"
    )
    events = [
        make_event(
            title="Commas, semicolons; and \\ backslashes " + "long " * 20,
            summary="Two days; on rivers, lakes\nand seas.",
            description="## Programme\n\n- **Talks** by experts\n- [a link](https://x.org)",
            latitude=46.2044,
            longitude=6.1432,
            topics=[make_topic("Zürich"), make_topic("Climate"), make_topic("energy")],
            revision=3,
        ),
        make_event(
            title="Zürich–東京 Forum über Klimawandel — 気候変動と社会の未来 " * 3,
            timezone="Asia/Tokyo",
            format=EventFormat.HYBRID,
            online_url="https://meet.example.org/secret",
            city="Kyōto",
        ),
        make_event(timezone="UTC", format=EventFormat.ONLINE, venue_name="", city=""),
        make_event(
            timezone=ny,
            starts_at=second_half_past_one,
            ends_at=second_half_past_one + timedelta(hours=2),
        ),
        make_event(
            timezone="Asia/Tokyo", is_all_day=True, starts_at=all_day[0], ends_at=all_day[1]
        ),
        make_event(
            status=EventStatus.CANCELLED,
            revision=2,
            cancellation_reason="Storm; sorry.",
            country=None,
        ),
        make_event(
            status=EventStatus.DRAFT, description="", summary="", latitude=0.0, longitude=-0.5
        ),
        make_event(latitude=0.00001, longitude=-0.00005),  # GEO without exponents
    ]
    settings = content.current_settings()
    words = content.current_words()
    for variant in _variants():
        for private in (False, True):
            feed = builders.build_feed(
                events, name="x", variants={e.id: variant for e in events}, private=private
            )
            check_export(feed)
            for event in events:
                component = vevent.event_component(
                    event, settings, variant=variant, words=words, private=private
                )
                assert component.to_ical() in feed


def test_builders_compare_the_stored_values_of_status_and_format():
    # content.py imports no domain package: it names the values it acts on.
    assert (content.CANCELLED, content.DRAFT) == (EventStatus.CANCELLED, EventStatus.DRAFT)
    assert (content.ONLINE, content.HYBRID) == (EventFormat.ONLINE, EventFormat.HYBRID)
