"""The registration box as it reads on the event page, in every state an event can be in."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from eventsite.extensions import db
from eventsite.models import EventStatus
from eventsite.registration import services
from eventsite.timeutil import utcnow


def box(client, event) -> str:
    """The box's words, tags left out, spaces collapsed."""
    response = client.get(f"/events/{event.slug}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    match = re.search(r'<section class="side-card registration-box".*?</section>', page, flags=re.S)
    assert match, "no registration box on the page"
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split()))


def register_link(client, event) -> bool:
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    return f'href="/events/{event.slug}/register"' in page


def fill(make_user, event, n: int) -> None:
    """n other people register first."""
    for _ in range(n):
        services.register_attendee(make_user(), event, {}, utcnow())
    db.session.commit()


def test_open_with_places(client, make_event) -> None:
    event = make_event(capacity=120)
    words = box(client, event)
    assert "Registration 120 places Register" in words
    assert "No account needed. Already have an account? Log in" in words
    assert register_link(client, event)


def test_unlimited_places(client, make_event) -> None:
    assert "Registration open" in box(client, make_event(capacity=None))


def test_only_a_few_places_left(client, make_user, make_event) -> None:
    event = make_event(capacity=3)
    fill(make_user, event, 2)
    assert "Only 1 place left" in box(client, event)


def test_registration_not_open_yet_says_when_in_the_event_zone(client, make_event) -> None:
    opens = datetime(2030, 3, 2, 8, 0, tzinfo=UTC)
    event = make_event(
        starts_at=datetime(2030, 5, 1, 7, 0, tzinfo=UTC),
        registration_opens_at=opens,
        timezone="Europe/Zurich",
    )
    words = box(client, event)
    assert "Registration opens on 2 March 2030, 09:00 CET" in words
    assert not register_link(client, event)


def test_registration_closes_on_is_shown_while_open(client, make_event) -> None:
    event = make_event(
        starts_at=datetime(2030, 5, 1, 7, 0, tzinfo=UTC),
        registration_closes_at=datetime(2030, 4, 20, 21, 59, tzinfo=UTC),
        timezone="Europe/Zurich",
    )
    assert "Registration closes on 20 April 2030 at 23:59 CEST" in box(client, event)


def test_registration_closed(client, make_event) -> None:
    event = make_event(registration_closes_at=utcnow() - timedelta(hours=1))
    assert "Registration closed" in box(client, event)
    assert not register_link(client, event)


def test_full_without_a_waiting_list(client, make_user, make_event) -> None:
    event = make_event(capacity=2, has_waiting_list=False)
    fill(make_user, event, 2)
    words = box(client, event)
    assert "This event is full" in words
    assert "Register" not in words.replace("Registration", "")
    assert not register_link(client, event)


def test_full_with_a_waiting_list(client, make_user, make_event) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    fill(make_user, event, 1)
    words = box(client, event)
    assert "Waiting list open Join the waiting list" in words
    assert register_link(client, event)


def test_approval_note(client, make_event) -> None:
    event = make_event(capacity=10, requires_approval=True)
    words = box(client, event)
    assert "The organisers confirm each registration." in words
    assert "Register" in words


def test_cancelled_event_with_its_reason(client, make_event) -> None:
    event = make_event(status=EventStatus.CANCELLED, cancellation_reason="The venue flooded.")
    words = box(client, event)
    assert "This event has been cancelled The venue flooded." in words
    assert not register_link(client, event)


def test_ended_event(client, make_event) -> None:
    starts_at = utcnow() - timedelta(days=3)
    event = make_event(starts_at=starts_at, ends_at=starts_at + timedelta(hours=8))
    words = box(client, event)
    assert "This event has ended" in words
    assert not register_link(client, event)


def test_a_registered_person_sees_their_status_and_place_in_the_queue(
    client, login, make_user, make_event
) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    fill(make_user, event, 1)
    user = make_user()
    registration = services.register_attendee(user, event, {}, utcnow())
    db.session.commit()
    login(user)
    words = box(client, event)
    assert "On the waiting list You are number 1 on the waiting list. Your registration" in words
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert f'href="/registrations/{registration.public_id}"' in page


def test_a_pending_registration_says_it_awaits_approval(
    client, login, make_user, make_event
) -> None:
    event = make_event(requires_approval=True)
    user = make_user()
    services.register_attendee(user, event, {}, utcnow())
    db.session.commit()
    login(user)
    assert "Awaiting approval" in box(client, event)
