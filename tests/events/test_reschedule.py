"""Rescheduling: the agenda moves with the event (on the wall clock, across daylight
saving), and registrants are told unless the organiser chose not to for a change that is
not to the time or place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventsite import timeutil
from eventsite.events import revision, rules, services
from eventsite.extensions import db
from eventsite.mail.sender import deliver_due
from eventsite.registration.models import RegistrationStatus

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # as in tests/conftest.py
ZURICH = "Europe/Zurich"


def _local(value: datetime) -> str:
    return timeutil.to_local(value, ZURICH).strftime("%Y-%m-%d %H:%M")


def _moved(event, delta: timedelta) -> dict:
    return {"starts_at": event.starts_at + delta, "ends_at": event.ends_at + delta}


@pytest.fixture
def forum(make_event, make_session):
    """Saturday 27 March 2027, the day before Europe's clocks go forward, 09:00 to 17:00
    in Zurich, with a session at either end of the day."""
    starts = timeutil.local_to_utc(datetime(2027, 3, 27, 9, 0), ZURICH)
    event = make_event(starts_at=starts, ends_at=starts + timedelta(hours=8), timezone=ZURICH)
    make_session(event, title="Opening", starts_at=starts)
    make_session(event, title="Panel", starts_at=starts + timedelta(hours=7))
    return event


def test_without_the_option_a_move_that_strands_sessions_is_refused(forum) -> None:
    with pytest.raises(rules.EventError) as err:
        services.update_event(forum, _moved(forum, timedelta(hours=1)), NOW)
    assert "Move the agenda with the event" in str(err.value)
    assert err.value.field == "move_agenda"
    assert "Panel" in str(err.value) or "Opening" in str(err.value)
    db.session.rollback()
    assert _local(forum.starts_at) == "2027-03-27 09:00"


def test_the_agenda_moves_by_the_same_shift(forum) -> None:
    revision_before = forum.revision
    update = services.update_event(forum, _moved(forum, timedelta(hours=1)), NOW, move_agenda=True)
    db.session.commit()
    assert update.revision_raised and forum.revision == revision_before + 1
    assert revision.AGENDA in update.changes
    assert [(_local(s.starts_at), _local(s.ends_at)) for s in forum.sessions] == [
        ("2027-03-27 10:00", "2027-03-27 11:00"),
        ("2027-03-27 17:00", "2027-03-27 18:00"),
    ]
    assert all(s.updated_at == NOW for s in forum.sessions)


def test_moving_a_day_across_the_change_to_summer_time_keeps_local_times(forum) -> None:
    # Sunday 28 March 2027 is 23 hours long in Zurich: the event's start moves by 23 hours
    # in UTC, and so does every session, so all stay at their local times.
    starts = timeutil.local_to_utc(datetime(2027, 3, 28, 9, 0), ZURICH)
    assert starts - forum.starts_at == timedelta(hours=23)
    services.update_event(
        forum,
        {"starts_at": starts, "ends_at": starts + timedelta(hours=8)},
        NOW,
        move_agenda=True,
    )
    db.session.commit()
    db.session.expire_all()
    assert [(_local(s.starts_at), _local(s.ends_at)) for s in forum.sessions] == [
        ("2027-03-28 09:00", "2027-03-28 10:00"),
        ("2027-03-28 16:00", "2027-03-28 17:00"),
    ]


def test_a_new_zone_keeps_the_sessions_local_times(forum) -> None:
    # Same wall-clock times in London: everything is an hour later in UTC.
    starts = timeutil.local_to_utc(datetime(2027, 3, 27, 9, 0), "Europe/London")
    services.update_event(
        forum,
        {"timezone": "Europe/London", "starts_at": starts, "ends_at": starts + timedelta(hours=8)},
        NOW,
        move_agenda=True,
    )
    db.session.commit()
    assert [timeutil.to_local(s.starts_at, "Europe/London").hour for s in forum.sessions] == [
        9,
        16,
    ]


def test_a_moved_session_still_outside_the_new_dates_refuses_everything(forum) -> None:
    # The start moves an hour later, the end an hour earlier: the sessions at either end
    # would fall outside.
    old_starts = [s.starts_at for s in forum.sessions]
    with pytest.raises(rules.EventError) as err:
        services.update_event(
            forum,
            {
                "starts_at": forum.starts_at + timedelta(hours=1),
                "ends_at": forum.ends_at - timedelta(hours=1),
            },
            NOW,
            move_agenda=True,
        )
    assert "Panel" in str(err.value) and "change their times first" in str(err.value)
    db.session.rollback()
    db.session.expire_all()
    assert [s.starts_at for s in forum.sessions] == old_starts


def test_plan_update_says_what_would_change_and_whom_it_tells(forum, make_event) -> None:
    plan = services.plan_update(forum, _moved(forum, timedelta(days=1)), move_agenda=True)
    assert plan.changed == {"starts_at", "ends_at", revision.AGENDA}
    assert plan.tells_registrants and plan.is_time_or_place
    plan = services.plan_update(forum, {"title": "Renamed"})
    assert plan.changed == {"title"} and plan.tells_registrants and not plan.is_time_or_place
    assert not services.plan_update(forum, {"capacity": 10}).tells_registrants
    draft = make_event(status="draft", published_at=None)
    assert not services.plan_update(draft, {"title": "Renamed"}).tells_registrants
    # Nothing was changed by planning.
    assert forum.title != "Renamed" and _local(forum.starts_at) == "2027-03-27 09:00"


def test_dont_notify_is_refused_for_a_new_time_or_place(forum) -> None:
    for changes in (_moved(forum, timedelta(hours=1)), {"venue_name": "Palais"}):
        with pytest.raises(services.NotifyRefused) as err:
            services.update_event(forum, changes, NOW, move_agenda=True, notify=False)
        assert err.value.field == "skip_notification"
        db.session.rollback()
    assert forum.venue_name == "Congress Centre"


def test_dont_notify_keeps_registrants_from_being_emailed_of_a_new_title(
    smtp_sink, forum, make_user, make_registration
) -> None:
    _controller, handler = smtp_sink
    make_registration(make_user(), forum, RegistrationStatus.CONFIRMED)
    update = services.update_event(forum, {"title": "Quiet rename"}, NOW, notify=False)
    db.session.commit()
    # Calendars still get the new title (the revision goes up); nobody is emailed.
    assert update.revision_raised
    assert deliver_due().sent == 0 and handler.messages == []

    services.update_event(forum, {"title": "Loud rename"}, NOW)
    db.session.commit()
    assert deliver_due().sent == 1
    assert b"Changed: Loud rename" in handler.messages[0].content
