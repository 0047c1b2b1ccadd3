"""The workspace's reminder setting, and a cancelled event pointing to its new date."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from eventsite.events import services
from eventsite.extensions import db
from eventsite.models import Event, EventFormat
from eventsite.timeutil import utcnow


def _event(slug: str) -> Event:
    db.session.expire_all()
    return db.session.scalar(select(Event).where(Event.slug == slug))


def test_the_event_form_sets_the_reminder_or_none(client, as_member, event_form) -> None:
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    page = client.get(url).get_data(as_text=True)
    assert 'name="reminder_hours"' in page and 'value="24"' in page
    assert client.post(url, data=event_form(reminder_hours="6")).status_code == 302
    event = _event("world-science-forum")
    assert event.reminder_hours == 6

    data = event_form(title="Second forum", slug="second", reminder_hours="")
    assert client.post(url, data=data).status_code == 302
    assert _event("second").reminder_hours == 0  # empty: no reminder

    data = event_form(title="Third forum", slug="third")  # not sent: the default
    assert client.post(url, data=data).status_code == 302
    assert _event("third").reminder_hours == 24

    response = client.post(url, data=event_form(title="Bad", slug="bad", reminder_hours="400"))
    assert response.status_code == 422
    assert "Give a number of hours up to 336, or 0 for no reminder." in response.text
    assert _event("bad") is None


def test_a_cancelled_event_page_has_no_calendar_or_join_link_and_points_to_its_new_date(
    client, as_member, login
) -> None:
    event = as_member.event
    event.format = EventFormat.HYBRID
    event.online_url = "https://meet.example.org/forum-room"
    db.session.commit()
    before = client.get(f"/events/{event.slug}").text
    assert "Calendar and sharing" in before
    assert "The link is sent to registered participants." in before

    now = utcnow()
    services.cancel_event(event, "The venue flooded.", now)
    db.session.commit()
    page = client.get(f"/events/{event.slug}").text
    assert "This event was cancelled." in page
    assert "Calendar and sharing" not in page
    assert "Add to calendar" not in page
    assert "meet.example.org" not in page
    assert "The link is sent to registered participants." not in page
    assert "This event was rescheduled" not in page

    duplicate = client.get(f"/manage/events/{event.id}/duplicate").text
    assert 'name="rescheduled"' in duplicate
    new_start = event.starts_at + timedelta(days=60)
    response = client.post(
        f"/manage/events/{event.id}/duplicate",
        data={
            "title": "Forum, new date",
            "starts_local": new_start.astimezone(ZoneInfo(event.timezone)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "rescheduled": "y",
        },
    )
    assert response.status_code == 302
    copy = _event("forum-new-date")
    assert _event(event.slug).rescheduled_as_id == copy.id
    # A draft is not shown.
    assert "This event was rescheduled" not in client.get(f"/events/{event.slug}").text

    services.publish_event(copy, now)
    db.session.commit()
    page = client.get(f"/events/{event.slug}").text
    assert "This event was rescheduled:" in page
    assert f'href="/events/{copy.slug}"' in page


def test_only_a_cancelled_event_points_to_a_rescheduled_copy(client, as_member) -> None:
    event = as_member.event
    response = client.post(
        f"/manage/events/{event.id}/duplicate",
        data={
            "title": "Copy",
            "starts_local": "2030-01-01T09:00",
            "rescheduled": "y",
        },
    )
    assert response.status_code == 302
    assert _event(event.slug).rescheduled_as_id is None
    with pytest.raises(services.EventStateError, match="Only a cancelled event"):
        services.duplicate_event(event, "Again", event.starts_at, utcnow(), rescheduled=True)
