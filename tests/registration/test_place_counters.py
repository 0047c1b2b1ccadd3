"""events.places_*: the places the database counts on the event's row (triggers on
registrations) agree with the registrations themselves after every kind of change, whoever
makes it: the services, the ORM, a bulk UPDATE, a cascade. A registration decides on them,
so a drift would overbook or turn people away."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, text, update

from eventsite.extensions import db
from eventsite.models import Event, Registration, RegistrationStatus, User
from eventsite.registration import services
from eventsite.registration.models import ACTIVE_STATUSES
from tests.registration.conftest import NOW


def _counted_on_the_row(event_id: int) -> tuple[int, int, int, int]:
    row = db.session.execute(
        select(
            Event.places_confirmed,
            Event.places_pending,
            Event.places_waitlisted,
            Event.places_held,
        ).where(Event.id == event_id)
    ).one()
    return tuple(row)


def _counted_from_registrations(event_id: int) -> tuple[int, int, int, int]:
    rows = db.session.execute(
        select(Registration.status, Registration.hold_expires_at.is_not(None), func.count())
        .where(Registration.event_id == event_id, Registration.status.in_(ACTIVE_STATUSES))
        .group_by(Registration.status, Registration.hold_expires_at.is_not(None))
    ).all()
    by_status = {str(s): 0 for s in ACTIVE_STATUSES}
    held = 0
    for status, is_held, n in rows:
        by_status[str(status)] += n
        held += n if is_held else 0
    return (by_status["confirmed"], by_status["pending"], by_status["waitlisted"], held)


def assert_counts_agree(*events: Event) -> None:
    db.session.commit()
    for event in events:
        assert _counted_on_the_row(event.id) == _counted_from_registrations(event.id)


def test_every_change_of_a_registration_is_counted_on_its_events_row(
    make_event, make_user, register
) -> None:
    event = make_event(capacity=2, has_waiting_list=True)
    other = make_event(capacity=10, requires_approval=True)
    people = [make_user() for _ in range(5)]
    first, second, third = (register(person, event) for person in people[:3])
    assert [r.status for r in (first, second, third)] == ["confirmed", "confirmed", "waitlisted"]
    assert _counted_on_the_row(event.id) == (2, 0, 1, 0)
    assert_counts_agree(event, other)

    services.cancel_registration(first, NOW)  # promotes the waiting list
    assert_counts_agree(event)
    assert _counted_on_the_row(event.id) == (2, 0, 0, 0)

    pending = register(people[3], other)
    assert pending.status == RegistrationStatus.PENDING
    assert_counts_agree(other)
    services.approve_registration(pending, NOW)
    assert_counts_agree(other)
    rejected = register(people[4], other)
    services.reject_registration(rejected, NOW)
    assert_counts_agree(other)
    assert _counted_on_the_row(other.id) == (1, 0, 0, 0)

    # The ORM, and a statement that goes around every service.
    second.status = RegistrationStatus.CANCELLED
    db.session.flush()
    assert_counts_agree(event)
    db.session.execute(
        update(Registration)
        .where(Registration.event_id == event.id)
        .values(status=RegistrationStatus.WAITLISTED)
    )
    assert_counts_agree(event)
    db.session.execute(update(Registration).values(event_id=other.id))  # moved: both rows
    assert_counts_agree(event, other)
    db.session.execute(delete(Registration).where(Registration.user_id == people[3].id))
    assert_counts_agree(event, other)


def test_holds_are_counted_until_confirmed_or_released(make_event, make_user, register) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    person, late = make_user(email_verified_at=None), make_user()
    held = services.register_attendee(person, event, {}, NOW, hold=True)
    db.session.commit()
    assert _counted_on_the_row(event.id) == (1, 0, 0, 1)
    services.confirm_held_registration(held, NOW)
    assert_counts_agree(event)
    assert _counted_on_the_row(event.id) == (1, 0, 0, 0)

    services.cancel_registration(held, NOW)
    another = services.register_attendee(make_user(), event, {}, NOW, hold=True)
    db.session.commit()
    assert another.is_held
    # The hold runs out: the next registration releases it and takes the place.
    after = NOW + timedelta(hours=event.confirmation_hold_hours + 1)
    registration = register(late, event, now=after)
    assert registration.status == RegistrationStatus.CONFIRMED
    db.session.refresh(another)
    assert another.status == RegistrationStatus.CANCELLED
    assert_counts_agree(event)
    assert _counted_on_the_row(event.id) == (1, 0, 0, 0)


def test_deleting_a_person_or_an_event_cascades_through_the_counts(
    make_event, make_user, register
) -> None:
    event, other = make_event(capacity=5), make_event(capacity=5)
    leaving, staying = make_user(), make_user()
    for person in (leaving, staying):
        register(person, event)
        register(person, other)
    db.session.execute(delete(User).where(User.id == leaving.id))
    assert_counts_agree(event, other)
    assert _counted_on_the_row(event.id) == (1, 0, 0, 0)
    other_id = other.id
    db.session.execute(delete(Event).where(Event.id == event.id))
    db.session.commit()
    assert db.session.get(Event, event.id) is None
    assert _counted_on_the_row(other_id) == (1, 0, 0, 0)


def test_a_registration_reads_the_places_from_the_row_not_from_a_count(
    make_event, make_user, register, count_queries
) -> None:
    """The row is what decides: set it to full (as another server's registrations would
    have) and the next person joins the waiting list."""
    event = make_event(capacity=3, has_waiting_list=True)
    register(make_user(), event)
    db.session.execute(
        text("UPDATE events SET places_confirmed = 3 WHERE id = :id"), {"id": event.id}
    )
    db.session.commit()
    with count_queries() as counter:
        registration = register(make_user(), event)
    assert registration.status == RegistrationStatus.WAITLISTED
    assert not any("count(" in s.lower() for s in counter.statements)
