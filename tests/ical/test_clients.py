"""What Outlook, Google, Apple and Thunderbird need from the files, read back by icalendar,
vobject and ical.js (check_export): instants around every DST change, text with every
special and control character, names, empty feeds, organisers, busy time, join links."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from eventsite import timeutil
from eventsite.extensions import db
from eventsite.ical import builders, content, vtimezone
from eventsite.models import Event, EventFormat, EventStatus

from .ics_check import check_export, parse_calendar

ZONES = [
    "Europe/Zurich",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # half-hour DST
    "Asia/Kolkata",  # no DST, +05:30
    "America/Sao_Paulo",  # DST until 2019
]
YEAR = {"America/Sao_Paulo": 2018}  # its last year with both changes


def _changes(name: str, year: int) -> list[datetime]:
    start = datetime(year, 1, 1, tzinfo=UTC)
    return vtimezone._transitions(timeutil.zone(name), start, start.replace(year=year + 1))


def _around(name: str, year: int) -> list[tuple[datetime, datetime]]:
    """(start, end) pairs on both sides of each change: in the repeated hour (both
    occurrences), starting or ending right at the change, across it, and at the wall
    times of the spring gap typed by an organiser (moved forward as the forms do)."""
    pairs: list[tuple[datetime, datetime]] = []
    for change in _changes(name, year):
        for minutes in (-90, -60, -30, -1, 0, 1, 30, 60, 90):
            start = change + timedelta(minutes=minutes)
            pairs.append((start, start + timedelta(minutes=45)))
        pairs.append((change - timedelta(hours=3), change + timedelta(hours=3)))
        pairs.append((change - timedelta(hours=1), change))
        local_before = (change + timedelta(seconds=-1)).astimezone(timeutil.zone(name))
        gap_wall = local_before.replace(tzinfo=None) + timedelta(minutes=15, seconds=1)
        typed = timeutil.local_to_utc(gap_wall, name)  # in the gap in spring, else plain
        pairs.append((typed, typed + timedelta(hours=1)))
    # A day far from any change, and for Kolkata (no change) a plain day.
    noon = timeutil.local_to_utc(datetime(year, 7, 1, 12), name)
    pairs.append((noon, noon + timedelta(hours=2)))
    return pairs


@pytest.mark.parametrize("name", ZONES)
def test_every_instant_around_every_change_reads_back_in_all_three_parsers(make_event, name):
    year = YEAR.get(name, 2027)
    events = [
        make_event(timezone=name, starts_at=start, ends_at=end)
        for start, end in _around(name, year)
    ]
    feed = builders.build_feed(events, name=name)
    check_export(feed)  # icalendar, vobject and ical.js against the database, in UTC
    for event in events[:: max(1, len(events) // 6)]:
        check_export(builders.build_event_calendar(event))
        check_export(builders.build_event_calendar(event, method="REQUEST"))
    # A wall time with a TZID is never one that happens twice.
    zone = timeutil.zone(name)
    for wall in re.findall(rf"TZID={re.escape(name)}:(\d{{8}}T\d{{6}})", feed.decode()):
        local = datetime.strptime(wall, "%Y%m%dT%H%M%S")
        assert local.replace(tzinfo=zone).utcoffset() == (
            local.replace(tzinfo=zone, fold=1).utcoffset()
        ), f"{wall} is ambiguous in {name}"


def test_the_repeated_hour_is_written_in_utc(make_event):
    zurich = "Europe/Zurich"
    first = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = datetime(2027, 10, 31, 1, 30, tzinfo=UTC)  # 02:30 CET
    events = [
        make_event(timezone=zurich, starts_at=first, ends_at=second - timedelta(minutes=30)),
        make_event(timezone=zurich, starts_at=second, ends_at=second + timedelta(hours=1)),
    ]
    feed = builders.build_feed(events, name="Zurich")
    check_export(feed)
    assert b"DTSTART:20271031T003000Z\r\n" in feed
    assert b"DTSTART:20271031T013000Z\r\n" in feed
    assert b"DTEND:20271031T010000Z\r\n" in feed  # the second 02:00 (CET)


# --- text ------------------------------------------------------------------------------------

SPECIAL = ",;:\\\"'`~!@#$%^&*()-_=+[]{}|<>?/."
# Not NUL: PostgreSQL refuses it in text (test_nul_never_reaches_a_file covers it).
CONTROLS = "".join(chr(c) for c in range(1, 0x20)) + "\x7f\x85\u2028"


def _has_control(value: str) -> bool:
    return any((ord(ch) < 0x20 and ch not in "\t\n") or 0x7F <= ord(ch) <= 0x9F for ch in value)


def test_control_characters_in_stored_text_never_reach_a_file(make_event, make_topic, make_session):
    """Rows older than the input checks (or written around them) hold control
    characters; every output drops them or turns line breaks into \\n, and all three
    parsers read the same text."""
    event = make_event(topics=[make_topic("Topic\x1f name")])
    make_session(event, title="Talk\x07\x0bone")
    db.session.execute(
        update(Event)
        .where(Event.id == event.id)
        .values(
            title=f"Forum{CONTROLS}end {SPECIAL} 🚀 科学与社会",
            summary=f"Line one\x0bline two\r\nline three\x1b[31m{SPECIAL}",
            description="Body\x01with\x08controls\ttab\x0cpage",
            description_text="Body\x01with\x08controls\ttab\x0cpage",
            venue_name=f"Hall\x0bA; B, {SPECIAL}",
        )
    )
    db.session.commit()
    db.session.expire_all()
    outputs = [
        builders.build_event_calendar(event),
        builders.build_event_calendar(event, with_sessions=True),
        builders.build_event_calendar(event, method="REQUEST"),
        builders.build_feed([event], name="Feed\x0bname\x07"),
    ]
    for raw in outputs:
        text = raw.decode()
        assert not _has_control(text.replace("\r\n", "")), repr(text)
        parsed = check_export(raw)
        vevent = parsed.ical_events()[f"event-{event.id}@localhost"]
        summary = str(vevent["SUMMARY"])
        assert summary == f"Forum end {SPECIAL} 🚀 科学与社会"  # breaks and tabs: one space
        description = str(vevent["DESCRIPTION"])
        assert "Line one\nline two\nline three[31m" in description
        assert "Bodywithcontrols\ttab\npage" in description
        assert str(vevent["LOCATION"]).startswith(f"Hall A; B, {SPECIAL}, ")
        for item in (summary, description, str(vevent["LOCATION"])):
            assert not _has_control(item.replace("\t", "").replace("\n", ""))


def test_nul_never_reaches_a_file(make_event):
    event = content.FeedEvent.from_event(make_event())._replace(
        title="Nul\x00title", summary="Nul\x00summary", venue_name="Nul\x00hall"
    )
    raw = builders.build_feed([event], name="Nul\x00feed")
    assert b"\x00" not in raw
    vevent = parse_calendar(raw).ical_events()[f"event-{event.id}@localhost"]
    assert str(vevent["SUMMARY"]) == "Nultitle"
    assert str(vevent["LOCATION"]).startswith("Nulhall, ")


def test_calendar_names_are_escaped_text(make_event):
    name = "Lab: Science, Tech; Open \\ zurich\n,;x"
    raw = builders.build_feed([make_event()], name=name)
    parsed = check_export(raw)
    assert b"NAME:Lab: Science\\, Tech\\; Open \\\\ zurich \\,\\;x\r\n" in raw
    assert b"X-WR-CALNAME:Lab: Science\\, Tech\\; Open \\\\ zurich \\,\\;x\r\n" in raw
    expected = "Lab: Science, Tech; Open \\ zurich ,;x"
    assert parsed.vcal.contents["x-wr-calname"][0].value == expected
    if parsed.js is not None:
        # ical.js types NAME and X-WR-CALNAME as unknown and hands them over as written.
        escaped = "Lab: Science\\, Tech\\; Open \\\\ zurich \\,\\;x"
        assert parsed.js["name"] == parsed.js["calname"] == escaped


def test_an_empty_feed_still_holds_a_component(app):
    raw = builders.build_feed([], name="nothing")
    parsed = check_export(raw, empty=True)
    assert [c.name for c in parsed.ical.subcomponents] == ["VTIMEZONE"]
    assert parsed.ical.subcomponents[0]["TZID"] == "UTC"
    if parsed.js is not None:
        assert parsed.js["components"] == 1


def test_organizer_cn_drops_quotes_instead_of_rfc_6868(make_event, make_organisation):
    event = make_event(organisation=make_organisation(name='The "Open" Lab, Zürich'))
    raw = builders.build_event_calendar(event)
    parsed = check_export(raw)
    vevent = parsed.ical_events()[f"event-{event.id}@localhost"]
    assert vevent["ORGANIZER"].params["CN"] == "The Open Lab, Zürich"
    assert b"^'" not in raw


def test_all_day_events_are_busy(make_event):
    starts_at, ends_at = timeutil.all_day_bounds(
        datetime(2027, 5, 12).date(), datetime(2027, 5, 14).date(), "Europe/Zurich"
    )
    event = make_event(is_all_day=True, starts_at=starts_at, ends_at=ends_at)
    for raw in (builders.build_event_calendar(event), builders.build_feed([event], name="x")):
        vevent = check_export(raw).ical_events()[f"event-{event.id}@localhost"]
        assert vevent["TRANSP"] == "OPAQUE"


def test_join_links_are_in_private_outputs_only(make_event):
    event = make_event(
        format=EventFormat.ONLINE,
        venue_name="",
        city="",
        country=None,
        online_url="https://meet.example.org/secret",
    )
    uid = f"event-{event.id}@localhost"
    shown = {event.id: content.Variant(show_online_url=True)}
    public = [
        builders.build_event_calendar(event),
        builders.build_event_calendar(event, variant=shown[event.id]),
        builders.build_feed([event], name="public"),
        builders.build_feed([event], name="public", variants=shown),  # no `private`
    ]
    for raw in public:
        check_export(raw)
        assert b"meet.example.org" not in raw.replace(b"\r\n ", b"")
        assert b"CONFERENCE" not in raw
    private = [
        builders.build_feed([event], name="mine", variants=shown, private=True),
        builders.build_event_calendar(event, method="REQUEST"),
    ]
    for raw in private:
        vevent = check_export(raw).ical_events()[uid]
        assert str(vevent["URL"]) == "https://meet.example.org/secret"
        assert str(vevent["CONFERENCE"]) == "https://meet.example.org/secret"
        assert vevent["CONFERENCE"].params["FEATURE"] == "VIDEO"
        assert "Join online: https://meet.example.org/secret" in str(vevent["DESCRIPTION"])
    # A private feed shows the link only for the events its variant allows.
    hidden = builders.build_feed([event], name="mine", private=True)
    assert b"meet.example.org" not in hidden.replace(b"\r\n ", b"")


def test_cancelled_feed_event_says_so_in_all_parsers(make_event):
    event = make_event(status=EventStatus.CANCELLED, cancellation_reason="Storm;\x07 sorry.")
    parsed = check_export(builders.build_feed([event], name="x"))
    assert "Storm; sorry." in str(
        parsed.ical_events()[f"event-{event.id}@localhost"]["DESCRIPTION"]
    )
