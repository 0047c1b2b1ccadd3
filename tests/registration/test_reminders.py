"""Reminders before an event: who gets one, when, and never twice, however many workers."""

from __future__ import annotations

import threading
from datetime import timedelta

import icalendar
import pytest
from sqlalchemy import func, select

from eventsite.events import services as event_services
from eventsite.extensions import db
from eventsite.mail import worker
from eventsite.models import Event, EventFormat, Registration, RegistrationStatus, User
from eventsite.registration import jobs
from eventsite.registration.models import SentReminder
from eventsite.timeutil import utcnow

from .conftest import NOW
from .test_ticket_emails import assert_ticket

pytestmark = pytest.mark.usefixtures("smtp_sink")

STARTS = NOW + timedelta(days=3)


def reminded(mail) -> list[str]:
    return sorted(
        address
        for message in mail
        if message.subject.startswith("Reminder:")
        for address in message.rcpt_tos
    )


def add_people(event: Event, statuses: list[str], *, held: int = 0) -> list[str]:
    """Users registered with the given statuses (the first `held` confirmed places held
    for an email confirmation); returns the addresses of the confirmed, not held."""
    users = [
        User(
            email=f"p{i}-{event.id}@example.org",
            name=f"Person {i}",
            password_hash="!",
            email_verified_at=NOW,
        )
        for i in range(len(statuses))
    ]
    db.session.add_all(users)
    db.session.flush()
    expected = []
    for i, (user, status) in enumerate(zip(users, statuses, strict=True)):
        is_held = status == RegistrationStatus.CONFIRMED and i < held
        db.session.add(
            Registration(
                user_id=user.id,
                event_id=event.id,
                status=status,
                answers={},
                created_at=NOW,
                updated_at=NOW,
                hold_expires_at=NOW + timedelta(days=1) if is_held else None,
            )
        )
        if status == RegistrationStatus.CONFIRMED and not is_held:
            expected.append(user.email)
    db.session.commit()
    return sorted(expected)


def test_two_workers_send_each_confirmed_registrant_exactly_one_reminder(
    app, make_event, mailbox
) -> None:
    event = make_event(starts_at=STARTS, ends_at=STARTS + timedelta(hours=8), reminder_hours=24)
    statuses = [RegistrationStatus.CONFIRMED] * 505 + [
        RegistrationStatus.CANCELLED,
        RegistrationStatus.WAITLISTED,
        RegistrationStatus.PENDING,
        RegistrationStatus.REJECTED,
    ] * 3
    expected = add_people(event, statuses, held=5)
    assert len(expected) == 500
    db.session.remove()
    due = STARTS - timedelta(hours=23)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                start.wait(timeout=10)
                worker.run_worker(
                    interval=0,
                    max_loops=3,
                    echo=lambda _text: None,
                    jobs=[lambda: jobs.send_reminders(due)],
                )
        except BaseException as err:  # pragma: no cover - shown by the assertion
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)

    assert errors == []
    assert reminded(mailbox()) == expected  # each exactly once, nobody else
    assert db.session.scalar(select(func.count()).select_from(SentReminder)) == 500
    assert jobs.send_reminders(due) == 0
    assert jobs.send_reminders(due + timedelta(hours=5)) == 0
    assert reminded(mailbox()) == []


def test_no_reminder_before_the_window_nor_once_the_event_has_started(
    app, make_event, make_user, make_registration, mailbox
) -> None:
    event = make_event(starts_at=STARTS, ends_at=STARTS + timedelta(hours=8), reminder_hours=48)
    make_registration(make_user(), event)
    assert jobs.send_reminders(STARTS - timedelta(hours=49)) == 0
    assert jobs.send_reminders(STARTS) == 0
    assert reminded(mailbox()) == []
    assert jobs.send_reminders(STARTS - timedelta(hours=48)) == 1


def test_reminder_off_sends_nothing(app, make_event, make_user, make_registration, mailbox) -> None:
    event = make_event(starts_at=STARTS, ends_at=STARTS + timedelta(hours=8), reminder_hours=0)
    make_registration(make_user(), event)
    assert jobs.send_reminders(STARTS - timedelta(hours=1)) == 0
    assert reminded(mailbox()) == []


def test_cancelled_and_draft_events_send_no_reminder(
    app, make_event, make_user, make_registration, mailbox
) -> None:
    for status in ("cancelled", "draft"):
        event = make_event(starts_at=STARTS, ends_at=STARTS + timedelta(hours=8), status=status)
        make_registration(make_user(), event)
    assert jobs.send_reminders(STARTS - timedelta(hours=1)) == 0


def test_the_reminder_has_the_dates_place_calendar_and_registration_page(
    app, make_event, make_user, make_registration, mailbox
) -> None:
    event = make_event(starts_at=STARTS, ends_at=STARTS + timedelta(hours=8))
    registration = make_registration(make_user(name="Ada"), event)
    assert jobs.send_reminders(STARTS - timedelta(hours=2)) == 1

    [message] = mailbox()
    assert message.subject.startswith(f"Reminder: {event.title}")
    assert "Hello Ada," in message.text
    assert "Congress Centre, Main street 1, Geneva" in message.text
    assert "CET" in message.text  # the time with its zone
    assert f"/registrations/{registration.public_id}" in message.text
    assert f"/registrations/{registration.public_id}" in message.html
    [attachment] = list(message.message.iter_attachments())
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    assert calendar["METHOD"] == "REQUEST"
    [vevent] = calendar.walk("VEVENT")
    assert vevent.decoded("DTSTART").astimezone(STARTS.tzinfo) == STARTS
    assert_ticket(message, registration)  # the ticket to show at the door, QR and code


def test_an_online_event_reminder_carries_the_join_link(
    app, make_event, make_user, make_registration, mailbox
) -> None:
    event = make_event(
        starts_at=STARTS,
        ends_at=STARTS + timedelta(hours=8),
        format=EventFormat.ONLINE,
        online_url="https://meet.example.org/secret-room-42",
    )
    make_registration(make_user(), event)
    jobs.send_reminders(STARTS - timedelta(hours=2))
    [message] = mailbox()
    assert "https://meet.example.org/secret-room-42" in message.text
    assert 'href="https://meet.example.org/secret-room-42"' in message.html


def test_an_event_moved_after_its_reminder_gets_a_new_one_only_while_ahead(
    app, make_event, make_user, make_registration, mailbox
) -> None:
    event = make_event(starts_at=STARTS, ends_at=STARTS + timedelta(hours=8), reminder_hours=24)
    make_registration(make_user(), event)
    now = STARTS - timedelta(hours=20)
    assert jobs.send_reminders(now) == 1
    mailbox()

    # A week later: nothing until its new reminder time, then one more.
    later = STARTS + timedelta(days=7)
    event_services.update_event(
        event, {"starts_at": later, "ends_at": later + timedelta(hours=8)}, now
    )
    db.session.commit()
    assert reminded(mailbox()) == []  # the change email only
    assert jobs.send_reminders(now + timedelta(hours=1)) == 0
    assert jobs.send_reminders(later - timedelta(hours=3)) == 1
    assert jobs.send_reminders(later - timedelta(hours=2)) == 0
    assert len(reminded(mailbox())) == 1

    # Moved into the past of `now`: it has started, no reminder.
    earlier = later - timedelta(hours=4)
    event_services.update_event(
        event, {"starts_at": earlier, "ends_at": earlier + timedelta(hours=8)}, now
    )
    db.session.commit()
    assert jobs.send_reminders(later - timedelta(hours=2)) == 0


def test_send_reminders_command(app, runner, make_event, make_user, make_registration) -> None:
    soon = utcnow() + timedelta(hours=2)
    event = make_event(starts_at=soon, ends_at=soon + timedelta(hours=7), reminder_hours=24)
    make_registration(make_user(), event)
    db.session.remove()
    result = runner.invoke(args=["registrations", "send-reminders"])
    assert result.exit_code == 0, result.output
    assert "Queued 1 reminder.\nQueued 0 registration-opens alerts." in result.output
