"""Numbers an organiser types, bounded where they are stored: an event's capacity in the
form, in the services and in the database (a larger number used to fail inside the driver:
PostgreSQL past 2**31 - 1, SQLite past 2**63 - 1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from eventsite.events import rules, services
from eventsite.extensions import db
from eventsite.models import Event
from eventsite.timeutil import utcnow

MAX_CAPACITY = 1_000_000  # eventsite.events.models.MAX_CAPACITY
CAPACITY = "Give a number of places between 0 and 1000000."


def events() -> list[tuple[str, int | None]]:
    db.session.expire_all()
    return sorted(tuple(row) for row in db.session.execute(select(Event.slug, Event.capacity)))


def _values(**overrides: Any) -> dict[str, Any]:
    starts = utcnow() + timedelta(days=60)
    values: dict[str, Any] = {
        "title": "Forum",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=8),
        "timezone": "UTC",
        "kind": "forum",
        "format": "in_person",
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize("value", [MAX_CAPACITY + 1, 2**31, 2**64, -1])
def test_create_and_update_refuse_a_capacity_out_of_range(world, value) -> None:
    before = events()
    with pytest.raises(rules.EventError, match=CAPACITY) as refused:
        services.create_event(world.organisation, _values(capacity=value), utcnow())
    assert refused.value.field == "capacity"
    db.session.rollback()
    with pytest.raises(rules.EventError, match=CAPACITY):
        services.update_event(world.event, {"capacity": value}, utcnow())
    db.session.rollback()
    assert events() == before


@pytest.mark.parametrize(
    "capacity", [str(MAX_CAPACITY + 1), "2147483648", str(2**64), "9" * 40, "-1"]
)
def test_a_capacity_out_of_range_is_refused_by_the_form(
    client, as_member, event_form, capacity
) -> None:
    before = events()
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    response = client.post(url, data=event_form(capacity=capacity))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert CAPACITY in html or "Not a valid integer value." in html
    assert events() == before
    response = client.post(
        f"/manage/events/{as_member.event.id}/edit", data=event_form(capacity=capacity)
    )
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Event, as_member.event.id).capacity == 100


def test_the_largest_capacity_is_accepted(client, as_member, event_form) -> None:
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    response = client.post(url, data=event_form(capacity=str(MAX_CAPACITY)))
    assert response.status_code == 302
    assert db.session.scalar(select(Event.capacity).where(Event.slug == "world-science-forum")) == (
        MAX_CAPACITY
    )


def test_the_database_refuses_a_capacity_out_of_range(world) -> None:
    with pytest.raises(IntegrityError):
        db.session.execute(
            update(Event).where(Event.id == world.event.id).values(capacity=MAX_CAPACITY + 1)
        )
        db.session.flush()
    db.session.rollback()
    row = {
        "slug": "direct",
        "title": "Direct",
        "kind": "forum",
        "summary": "",
        "description": "",
        "description_text": "",
        "starts_at": world.event.starts_at,
        "ends_at": world.event.ends_at,
        "timezone": "UTC",
        "is_all_day": False,
        "venue_name": "",
        "venue_address": "",
        "city": "",
        "format": "in_person",
        "status": "draft",
        "cancellation_reason": "",
        "has_waiting_list": False,
        "requires_approval": False,
        "organisation_id": world.organisation.id,
        "search_text": "",
        "revision": 0,
        "created_at": utcnow(),
        "updated_at": utcnow(),
        "capacity": MAX_CAPACITY + 1,
    }
    with pytest.raises(IntegrityError):
        db.session.execute(insert(Event).values(**row))
    db.session.rollback()
