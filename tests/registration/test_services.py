"""Registration rules: places, the waiting list, approval, answers, cancelling."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from eventsite import database, templating
from eventsite.extensions import db
from eventsite.mail import services as mail
from eventsite.mail.sender import deliver_due
from eventsite.models import (
    Event,
    EventStatus,
    OutboxMessage,
    QuestionKind,
    Registration,
    RegistrationStatus,
)
from eventsite.registration import answers, queries, rules, services

from ..ical.ics_check import check_export
from ..mail.invitations import invitation
from ..mail.written import written

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def statuses(event) -> dict[str, int]:
    rows = db.session.execute(
        select(Registration.status, func.count())
        .where(Registration.event_id == event.id)
        .group_by(Registration.status)
    ).all()
    return {str(s): n for s, n in rows}


def outbox_subjects() -> list[str]:
    """The subjects of the emails queued so far (the confirmations still on their
    registrations moved to the outbox first, as the sender does)."""
    mail.queue_pending()
    db.session.commit()
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    return [written(row).subject for row in rows]


# --- registering -------------------------------------------------------------------------------


def test_registration_is_confirmed_while_places_remain(make_event, make_user, register) -> None:
    event = make_event(capacity=2)
    registration = register(make_user(), event)
    assert registration.status == RegistrationStatus.CONFIRMED
    assert registration.created_at == NOW


def test_registration_when_full_goes_to_waiting_list(make_event, make_user, register) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    register(make_user(), event)
    second = register(make_user(), event)
    third = register(make_user(), event)
    assert second.status == third.status == RegistrationStatus.WAITLISTED
    assert queries.waitlist_rank(second) == 1
    assert queries.waitlist_rank(third) == 2


def test_registration_when_full_without_waiting_list_is_refused(
    make_event, make_user, register
) -> None:
    event = make_event(capacity=1)
    register(make_user(), event)
    with pytest.raises(rules.RegistrationError, match="This event is full"):
        register(make_user(), event)
    assert statuses(event) == {"confirmed": 1}


def _read_then_changed_by_the_organiser(event, change: dict) -> None:
    """The view reads the event and checks the form, then takes the lock keeping what it
    read (`lock_for_write(keep_loaded=True)`); in between, an organiser commits a change
    from another connection."""
    db.session.commit()
    assert (event.capacity, event.status) == (5, EventStatus.PUBLISHED)  # read as the view does
    with db.engine.begin() as organiser:
        organiser.execute(update(Event).where(Event.id == event.id).values(**change))
    database.lock_for_write(keep_loaded=True)


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"capacity": 1}, "This event is full"),
        ({"status": EventStatus.CANCELLED}, "This event has been cancelled"),
    ],
)
def test_a_change_made_after_the_request_read_the_event_refuses_under_the_lock(
    make_event, make_user, register, change, refusal
) -> None:
    event = make_event(capacity=5)
    register(make_user(), event)
    person = make_user()
    _read_then_changed_by_the_organiser(event, change)
    with pytest.raises(rules.RegistrationError, match=refusal):
        services.register_attendee(person, event, {}, NOW)
    db.session.rollback()
    assert statuses(event) == {"confirmed": 1}


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"requires_approval": True}, RegistrationStatus.PENDING),
        ({"capacity": 1, "has_waiting_list": True}, RegistrationStatus.WAITLISTED),
    ],
)
def test_a_change_made_after_the_request_read_the_event_decides_the_status(
    make_event, make_user, register, change, status
) -> None:
    event = make_event(capacity=5)
    register(make_user(), event)
    person = make_user()
    _read_then_changed_by_the_organiser(event, change)
    registration = services.register_attendee(person, event, {}, NOW)
    db.session.commit()
    assert registration.status == status
    assert statuses(event) == {"confirmed": 1, str(status): 1}


def test_an_event_unchanged_since_the_request_read_it_is_not_read_again(
    make_event, make_user, count_queries
) -> None:
    """Under the lock: the event's deciding columns with the places its row counts, the
    INSERT (with the email's facts) and the webhook endpoints, and nothing else (the event
    is not loaded again, the registrations are not counted, no outbox row)."""
    event = make_event(capacity=5)
    person = make_user()
    db.session.commit()
    assert event.capacity == 5 and person.email
    database.lock_for_write(keep_loaded=True)
    with count_queries() as queries_run:
        services.register_attendee(person, event, {}, NOW, questions=[])
    assert queries_run.count == 3, queries_run.statements
    db.session.commit()


def test_unlimited_event_confirms_everyone(make_event, make_user, register) -> None:
    event = make_event(capacity=None)
    regs = [register(make_user(), event) for _ in range(5)]
    assert {r.status for r in regs} == {RegistrationStatus.CONFIRMED}


def test_unverified_account_cannot_register_without_a_hold(make_event, make_user, register) -> None:
    event = make_event(capacity=10)
    with pytest.raises(rules.RegistrationError, match="confirm your email"):
        register(make_user(email_verified_at=None), event)
    assert statuses(event) == {}


def test_registering_again_returns_the_existing_registration(
    make_event, make_user, register
) -> None:
    event = make_event(capacity=10)
    user = make_user()
    first = register(user, event)
    again = register(user, event, now=NOW + timedelta(minutes=1))
    assert again.id == first.id
    assert statuses(event) == {"confirmed": 1}
    assert len(outbox_subjects()) == 1  # one confirmation email


def test_registering_after_cancelling_creates_a_new_registration(
    make_event, make_user, register
) -> None:
    event = make_event(capacity=10)
    user = make_user()
    first = register(user, event)
    services.cancel_registration(first, NOW)
    db.session.commit()
    second = register(user, event)
    assert second.id != first.id
    assert statuses(event) == {"confirmed": 1, "cancelled": 1}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"registration_opens_at": NOW + timedelta(days=1)}, "Registration opens on"),
        ({"registration_closes_at": NOW - timedelta(days=1)}, "Registration closed"),
        ({"status": EventStatus.CANCELLED}, "cancelled"),
    ],
)
def test_registration_outside_the_window_is_refused(
    make_event, make_user, register, overrides, message
) -> None:
    event = make_event(**overrides)
    with pytest.raises(rules.RegistrationError, match=message):
        register(make_user(), event)


def test_approval_required_puts_registrations_in_pending_holding_a_place(
    make_event, make_user, register
) -> None:
    event = make_event(capacity=1, requires_approval=True, has_waiting_list=True)
    pending = register(make_user(), event)
    second = register(make_user(), event)
    assert pending.status == RegistrationStatus.PENDING
    assert second.status == RegistrationStatus.WAITLISTED  # the pending one holds the place


def test_approve_confirms_and_emails(make_event, make_user, register) -> None:
    event = make_event(capacity=5, requires_approval=True)
    registration = register(make_user(), event)
    services.approve_registration(registration, NOW)
    db.session.commit()
    assert registration.status == RegistrationStatus.CONFIRMED
    assert registration.decided_at == NOW
    assert outbox_subjects()[-1] == f"Your registration is confirmed: {event.title}"
    with pytest.raises(rules.RegistrationError, match="awaiting approval"):
        services.approve_registration(registration, NOW)


def test_reject_frees_the_place_for_the_waiting_list(make_event, make_user, register) -> None:
    event = make_event(capacity=1, requires_approval=True, has_waiting_list=True)
    first = register(make_user(), event)
    waiting = register(make_user(), event)
    services.reject_registration(first, NOW)
    db.session.commit()
    db.session.refresh(waiting)
    assert first.status == RegistrationStatus.REJECTED
    # Promoted into the approval queue, not straight to confirmed.
    assert waiting.status == RegistrationStatus.PENDING
    subjects = outbox_subjects()
    assert f"Your registration was not accepted: {event.title}" in subjects
    assert subjects[-1].startswith("You are off the waiting list")


def test_required_answers_are_checked_by_the_service(
    make_event, make_user, make_question, register
) -> None:
    event = make_event()
    question = make_question(event, is_required=True)
    with pytest.raises(rules.RegistrationError) as err:
        register(make_user(), event, {})
    assert err.value.field == question.field_name


def _sessions_question(make_question, event):
    """A multiple choice, second on the form."""
    return make_question(
        event,
        kind=QuestionKind.MULTIPLE_CHOICE,
        label="Sessions",
        options=["Opening", "Closing"],
        position=1,
    )


def test_answers_are_stored_with_a_label_snapshot(
    make_event, make_user, make_question, register
) -> None:
    event = make_event()
    affiliation = make_question(event, label="Affiliation", position=0)
    sessions = _sessions_question(make_question, event)
    registration = register(
        make_user(), event, {affiliation.id: "CERN", sessions.id: ["Opening", "Closing"]}
    )
    affiliation.label = "Institution"
    db.session.commit()
    db.session.refresh(registration)
    assert registration.answers[str(affiliation.id)]["label"] == "Affiliation"
    assert answers.answer_rows(registration) == [
        ("Affiliation", "CERN"),
        ("Sessions", "Opening, Closing"),
    ]


def test_the_registration_returned_holds_what_a_read_of_its_row_gives(
    make_event, make_user, make_question
) -> None:
    """The INSERT returns only the id: the registration keeps the values it wrote, each as a
    read of the row gives it (answers of every kind, the confirmation's facts, the times)."""
    event = make_event(capacity=1, has_waiting_list=True)
    guests = make_question(event, kind=QuestionKind.NUMBER, label="Guests", position=0)
    sessions = _sessions_question(make_question, event)
    photos = make_question(event, kind=QuestionKind.CHECKBOX, label="Photos", position=2)
    services.register_attendee(make_user(), event, {}, NOW)  # the place: the next one waits
    registration = services.register_attendee(
        make_user(),
        event,
        {guests.id: Decimal("2.5"), sessions.id: ["Closing"], photos.id: True},
        NOW,
    )
    table = Registration.__table__
    kept = {column.key: getattr(registration, column.key) for column in table.c}
    read = db.session.execute(select(table).where(table.c.id == registration.id)).mappings().one()
    assert kept == dict(read)
    assert kept["status"] == RegistrationStatus.WAITLISTED
    assert kept["answers"][str(guests.id)]["value"] == 2.5
    assert kept["pending_notice"]["rank"] == 1
    db.session.rollback()


# --- cancelling and the waiting list -----------------------------------------------------------


def test_cancel_promotes_the_first_on_the_waiting_list(make_event, make_user, register) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    confirmed = register(make_user(), event)
    first = register(make_user(), event, now=NOW + timedelta(seconds=1))
    second = register(make_user(), event, now=NOW + timedelta(seconds=2))
    promoted = services.cancel_registration(confirmed, NOW + timedelta(hours=1))
    db.session.commit()
    assert [r.id for r in promoted] == [first.id]
    db.session.refresh(first)
    db.session.refresh(second)
    assert first.status == RegistrationStatus.CONFIRMED
    assert first.promoted_at == NOW + timedelta(hours=1)
    assert second.status == RegistrationStatus.WAITLISTED
    assert queries.waitlist_rank(second) == 1  # the rank stays current
    # After the first's own confirmation (written with its registration: the order is each
    # person's, test_email_after_commit.py), and once.
    assert outbox_subjects().count(f"A place is yours: {event.title}") == 1


def test_cancel_stops_promoting_once_registration_closes(make_event, make_user, register) -> None:
    closes = NOW + timedelta(days=1)
    event = make_event(capacity=1, has_waiting_list=True, registration_closes_at=closes)
    confirmed = register(make_user(), event)
    waiting = register(make_user(), event)
    assert services.cancel_registration(confirmed, closes + timedelta(minutes=1)) == []
    db.session.commit()
    db.session.refresh(waiting)
    assert waiting.status == RegistrationStatus.WAITLISTED


def test_cancelling_a_waitlisted_place_promotes_nobody(make_event, make_user, register) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    register(make_user(), event)
    waiting = register(make_user(), event)
    third = register(make_user(), event)
    assert services.cancel_registration(waiting, NOW) == []
    db.session.commit()
    assert statuses(event) == {"confirmed": 1, "waitlisted": 1, "cancelled": 1}
    assert queries.waitlist_rank(third) == 1


def test_cancelling_twice_is_refused_and_changes_nothing(make_event, make_user, register) -> None:
    event = make_event(capacity=1)
    registration = register(make_user(), event)
    services.cancel_registration(registration, NOW)
    db.session.commit()
    with pytest.raises(rules.RegistrationError, match="This registration is not active"):
        services.cancel_registration(registration, NOW + timedelta(minutes=1))
    db.session.rollback()
    assert registration.cancelled_at == NOW


def test_free_places_go_to_the_waiting_list_before_newcomers(
    make_event, make_user, register
) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    register(make_user(), event)
    waiting = register(make_user(), event)
    event.capacity = 2  # an organiser adds a place
    db.session.commit()
    newcomer = register(make_user(), event)
    db.session.refresh(waiting)
    assert waiting.status == RegistrationStatus.CONFIRMED
    assert newcomer.status == RegistrationStatus.WAITLISTED


def test_cancel_registrations_for_user_frees_places(make_event, make_user, register) -> None:
    leaving = make_user()
    events = [make_event(capacity=1, has_waiting_list=True) for _ in range(2)]
    waiting = []
    for event in events:
        register(leaving, event)
        waiting.append(register(make_user(), event))
    services.cancel_registrations_for_user(leaving, NOW)
    db.session.commit()
    for registration in waiting:
        db.session.refresh(registration)
        assert registration.status == RegistrationStatus.CONFIRMED
    active = db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(Registration.user_id == leaving.id, Registration.status != "cancelled")
    )
    assert active == 0


def test_active_registrations_for_event_lists_people_in_order(
    make_event, make_user, register
) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    a = register(make_user(), event)
    b = register(make_user(), event, now=NOW + timedelta(seconds=1))
    c = register(make_user(), event, now=NOW + timedelta(seconds=2))
    services.cancel_registration(c, NOW)
    db.session.commit()
    rows = db.session.scalars(queries.active_registrations_for_event(event)).all()
    assert [r.id for r in rows] == [a.id, b.id]


# --- answers -----------------------------------------------------------------------------------


def test_update_answers_until_the_edit_deadline(
    make_event, make_user, make_question, register
) -> None:
    closes = NOW + timedelta(days=3)
    event = make_event(registration_closes_at=closes)
    question = make_question(event, label="Affiliation")
    registration = register(make_user(), event, {question.id: "CERN"})
    services.update_answers(registration, {question.id: "EPFL"}, closes - timedelta(minutes=1))
    db.session.commit()
    assert registration.answers[str(question.id)]["value"] == "EPFL"
    with pytest.raises(rules.RegistrationError, match="could be changed until"):
        services.update_answers(registration, {question.id: "ETH"}, closes)


def test_edit_deadline_can_differ_from_registration_close(
    make_event, make_user, make_question, register
) -> None:
    event = make_event(
        registration_closes_at=NOW + timedelta(days=3), edit_deadline_at=NOW + timedelta(days=1)
    )
    question = make_question(event)
    registration = register(make_user(), event, {question.id: "CERN"})
    with pytest.raises(rules.RegistrationError):
        services.update_answers(registration, {question.id: "X"}, NOW + timedelta(days=2))


def test_removed_questions_keep_their_answers(
    make_event, make_user, make_question, register
) -> None:
    event = make_event()
    kept = make_question(event, label="Affiliation", position=0)
    removed = make_question(event, label="T-shirt size", position=1)
    registration = register(make_user(), event, {kept.id: "CERN", removed.id: "M"})
    removed.is_active = False
    db.session.commit()
    services.update_answers(registration, {kept.id: "EPFL"}, NOW)
    db.session.commit()
    assert answers.answer_rows(registration) == [("Affiliation", "EPFL"), ("T-shirt size", "M")]


# --- the database constraint -------------------------------------------------------------------


def test_unique_index_refuses_a_second_active_registration(make_event, make_user) -> None:
    event = make_event()
    user = make_user()
    db.session.add(Registration(event_id=event.id, user_id=user.id, status="confirmed"))
    db.session.commit()
    db.session.add(Registration(event_id=event.id, user_id=user.id, status="waitlisted"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # Inactive rows do not count: any number of cancelled ones may sit beside it.
    for _ in range(2):
        db.session.add(Registration(event_id=event.id, user_id=user.id, status="cancelled"))
    db.session.commit()
    assert statuses(event) == {"confirmed": 1, "cancelled": 2}


# --- emails ------------------------------------------------------------------------------------


def _messages(smtp_sink):
    _controller, handler = smtp_sink
    return [
        email.message_from_bytes(envelope.content, policy=email.policy.default)
        for envelope in handler.messages
    ]


def test_confirmation_email_arrives_with_details_answers_and_link(
    smtp_sink, make_event, make_user, make_question, register
) -> None:
    event = make_event(capacity=10, title="Forum on Open Science", venue_name="Congress Centre")
    question = make_question(event, label="Affiliation")
    user = make_user(email="ada@example.org", name="Ada")
    registration = register(user, event, {question.id: "CERN"})
    report = deliver_due()
    assert report is not None
    (message,) = _messages(smtp_sink)
    assert message["To"] == "ada@example.org"
    assert message["Subject"] == "You are registered: Forum on Open Science"
    text = message.get_body(("plain",)).get_content()
    assert "Your place is confirmed" in text
    assert "Congress Centre" in text
    assert templating.event_dates(event) in text
    assert "Affiliation: CERN" in text
    assert f"http://localhost/registrations/{registration.public_id}" in text
    html = message.get_body(("html",)).get_content()
    assert f'href="http://localhost/registrations/{registration.public_id}"' in html
    assert message.get_payload()[1].get_filename() == f"{event.slug}.ics"
    parsed = check_export(invitation(message, "REQUEST"))  # times == the database's
    assert parsed.vcal.method.value == "REQUEST"
    [vevent] = parsed.vobject_events().values()
    assert vevent.uid.value == f"event-{event.id}@localhost"
    assert vevent.attendee.value == "mailto:ada@example.org"  # RFC 5546 3.2.2
    assert vevent.attendee.params["CN"] == ["Ada"]
    assert vevent.attendee.params["PARTSTAT"] == ["ACCEPTED"]
    assert vevent.status.value == "CONFIRMED"


def test_waitlist_and_pending_emails_say_so(smtp_sink, make_event, make_user, register) -> None:
    full = make_event(capacity=1, has_waiting_list=True, title="Full one")
    register(make_user(), full)
    register(make_user(email="wait@example.org"), full)
    approval = make_event(capacity=5, requires_approval=True, title="Approval one")
    register(make_user(email="pending@example.org"), approval)
    deliver_due()
    by_to = {m["To"]: m for m in _messages(smtp_sink)}
    waiting = by_to["wait@example.org"]
    assert waiting["Subject"] == "You are on the waiting list: Full one"
    assert "on the waiting list: number 1" in waiting.get_body(("plain",)).get_content()
    pending = by_to["pending@example.org"]
    assert pending["Subject"] == "Registration received, awaiting approval: Approval one"
    # No calendar invitation before a place is confirmed.
    assert list(waiting.iter_attachments()) == list(pending.iter_attachments()) == []


def test_promotion_email_reaches_the_promoted_person(
    smtp_sink, make_event, make_user, register
) -> None:
    event = make_event(capacity=1, has_waiting_list=True, title="Small workshop")
    confirmed = register(make_user(), event)
    register(make_user(email="next@example.org"), event)
    deliver_due()
    services.cancel_registration(confirmed, NOW)
    db.session.commit()
    deliver_due()
    promoted = [m for m in _messages(smtp_sink) if m["Subject"].startswith("A place is yours")]
    assert [m["To"] for m in promoted] == ["next@example.org"]
    assert "it is yours" in promoted[0].get_body(("plain",)).get_content()
