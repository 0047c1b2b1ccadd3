"""The event page's pieces: the agenda by day, the speakers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from eventsite.events import queries
from eventsite.extensions import db

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # as in tests/conftest.py


# --- pieces of the event page ----------------------------------------------------------------


def test_agenda_by_day_uses_the_events_zone(make_event, make_session) -> None:
    start = datetime(2027, 5, 10, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    event = make_event(timezone="Asia/Shanghai", starts_at=start, ends_at=start + timedelta(days=2))
    late = make_session(event, title="Late", starts_at=datetime(2027, 5, 10, 15, 30, tzinfo=UTC))
    first = make_session(event, title="First", starts_at=start)
    days = queries.agenda_by_day(event)
    # 15:30 UTC is 23:30 in Shanghai: same local day as the morning session.
    assert days == [(date(2027, 5, 10), [first, late])]
    after = make_session(event, title="Next", starts_at=datetime(2027, 5, 10, 16, 30, tzinfo=UTC))
    db.session.refresh(event)
    assert [day for day, _ in queries.agenda_by_day(event)] == [
        date(2027, 5, 10),
        date(2027, 5, 11),
    ]
    assert queries.agenda_by_day(event)[1][1] == [after]


def test_event_speakers_once_each_in_order(make_event, make_session, make_speaker) -> None:
    event = make_event()
    a, b, c = make_speaker("A"), make_speaker("B"), make_speaker("C")
    make_session(event, speakers=[b, a], starts_at=event.starts_at)
    make_session(event, speakers=[a, c], starts_at=event.starts_at + timedelta(hours=2))
    db.session.refresh(event)
    assert [s.name for s in queries.event_speakers(event)] == ["B", "A", "C"]
