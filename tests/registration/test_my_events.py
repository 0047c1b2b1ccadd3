"""The account page's "My events": upcoming and past registrations, each with its status."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from eventsite.events.models import EventStatus
from eventsite.extensions import db
from eventsite.registration import services
from eventsite.timeutil import utcnow


def section(page: str, list_class: str) -> list[str]:
    """The items of one list on the page, as text without tags, in order."""
    match = re.search(rf'<ul class="my-events-list {list_class}">(.*?)</ul>', page, re.S)
    if match is None:
        return []
    items = re.findall(r"<li[^>]*>(.*?)</li>", match.group(1), re.S)
    return [html.unescape(" ".join(re.sub(r"<[^>]+>", " ", item).split())) for item in items]


def past_event(make_event, days_ago: int, **overrides):
    starts_at = utcnow() - timedelta(days=days_ago)
    return make_event(starts_at=starts_at, ends_at=starts_at + timedelta(hours=8), **overrides)


def register_before(register, user, event):
    """A registration made while the event was still to come."""
    return register(user, event, now=event.starts_at - timedelta(days=60))


def test_upcoming_and_past_are_shown_apart_each_with_its_status(
    client, login, make_user, make_event, register
) -> None:
    user = make_user()
    now = utcnow()
    soon = make_event(
        title="Soon Summit", starts_at=now + timedelta(days=2), capacity=1, has_waiting_list=True
    )
    register(make_user(), soon, now=now)
    later = make_event(title="Later Lab", starts_at=now + timedelta(days=20))
    running = make_event(
        title="Running Retreat",
        starts_at=now - timedelta(hours=2),
        ends_at=now + timedelta(hours=6),
    )
    recent = past_event(make_event, 3, title="Recent Round Table")
    old = past_event(make_event, 90, title="Old Open Day")
    called_off = past_event(make_event, 30, title="Called-off Colloquium")

    register(user, later, now=now)
    register(user, soon, now=now)  # full: waiting list, number 1
    register_before(register, user, running)
    register_before(register, user, recent)
    register_before(register, user, old)
    cancelled = register_before(register, user, called_off)
    services.cancel_registration(cancelled, called_off.starts_at - timedelta(days=5))
    db.session.commit()

    login(user)
    page = client.get("/account/").get_data(as_text=True)

    assert "My events" in page
    assert page.index('id="my-events-upcoming"') < page.index('id="my-events-past"')
    upcoming = section(page, "my-events-upcoming")
    past = section(page, "my-events-past")
    assert [item.split(" · ")[0] for item in upcoming] == [
        "Running Retreat",
        "Soon Summit",
        "Later Lab",
    ]
    assert [item.split(" · ")[0] for item in past] == [
        "Recent Round Table",
        "Called-off Colloquium",
        "Old Open Day",
    ]
    assert upcoming[1].endswith("On the waiting list · number 1 on the waiting list")
    assert upcoming[2].endswith("Confirmed")
    assert past[0].endswith("Confirmed")
    assert past[1].endswith("Cancelled")
    assert "waiting list" not in " ".join(past)


def test_only_past_events_still_says_there_is_nothing_upcoming(
    client, login, make_user, make_event, register
) -> None:
    user = make_user()
    register_before(register, user, past_event(make_event, 7, title="Last Year's Forum"))
    login(user)
    page = client.get("/account/").get_data(as_text=True)
    assert "No upcoming events." in page
    assert section(page, "my-events-past")[0].startswith("Last Year's Forum")
    assert "You have not registered for any event yet." not in page


def test_a_cancelled_event_is_marked(client, login, make_user, make_event, register) -> None:
    user = make_user()
    event = make_event(title="Storm Day")
    register(user, event, now=utcnow())
    event.status = EventStatus.CANCELLED
    db.session.commit()
    login(user)
    page = client.get("/account/").get_data(as_text=True)
    [item] = section(page, "my-events-upcoming")
    assert item.startswith("Storm Day") and "Event cancelled" in item


def test_my_events_costs_the_same_queries_however_many_past_and_upcoming(
    client, login, make_user, make_event, register, count_queries
) -> None:
    user = make_user()
    login(user)
    days = iter(range(5, 500, 7))

    def add(n: int) -> None:
        for _ in range(n):
            full = make_event(capacity=1, has_waiting_list=True)
            register(make_user(), full, now=utcnow())
            register(user, full, now=utcnow())
            register(user, make_event(), now=utcnow())
            register_before(register, user, past_event(make_event, next(days)))

    add(1)
    with count_queries() as few:
        page = client.get("/account/").get_data(as_text=True)
    assert len(section(page, "my-events-past")) == 1
    add(5)
    with count_queries() as many:
        page = client.get("/account/").get_data(as_text=True)
    assert len(section(page, "my-events-upcoming")) == 12
    assert len(section(page, "my-events-past")) == 6
    assert many.count == few.count
