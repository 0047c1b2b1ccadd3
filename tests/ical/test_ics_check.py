"""The checker every calendar test relies on refuses what it must: a time that differs
from the database, an unknown row, a GEO with an exponent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventsite.extensions import db
from eventsite.ical import builders

from .ics_check import IcalJs, check_export, ical_js_required


def test_a_file_older_than_the_database_fails(make_event):
    event = make_event()
    data = builders.build_event_calendar(event)
    check_export(data)
    event.ends_at += timedelta(hours=1)
    db.session.commit()
    with pytest.raises(AssertionError, match="database"):
        check_export(data)


def test_a_file_for_a_row_that_does_not_exist_fails(make_event):
    event = make_event()
    data = builders.build_event_calendar(event).replace(
        f"UID:event-{event.id}@".encode(), b"UID:event-999999@"
    )
    with pytest.raises(AssertionError, match="no event 999999"):
        check_export(data)


def test_an_exponent_in_geo_fails(make_event):
    data = builders.build_event_calendar(make_event(latitude=46.2, longitude=6.1))
    with pytest.raises(AssertionError, match="GEO"):
        check_export(data.replace(b"GEO:46.2;6.1", b"GEO:1e-05;6.1"))


def test_a_file_without_events_fails_unless_allowed(app):
    data = builders.build_feed([], name="nothing")
    with pytest.raises(AssertionError, match="no VEVENT"):
        check_export(data)
    assert check_export(data, empty=True).uids() == []


def test_ical_js_reads_the_exports(make_event):
    """The third parser is really there (CI requires it), and reads what the others do."""
    reason = IcalJs.unavailable()
    if reason and not ical_js_required():
        pytest.skip(reason)
    event = make_event(title="Ünïcode, commas; and 東京 🚀")
    parsed = check_export(builders.build_event_calendar(event))
    assert parsed.js is not None
    assert parsed.js_events()[f"event-{event.id}@localhost"]["summary"] == event.title
