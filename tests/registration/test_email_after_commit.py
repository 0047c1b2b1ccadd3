"""A registration's email is queued as facts and written by the sender after the commit
(issue #16): the registration never waits for templates, QR codes or calendars, an email
that cannot be written does not lose the registration, and the sender retries and reports
it until it can be written; the POST holds few statements."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import func, select, text

from eventsite.extensions import db
from eventsite.mail import sender
from eventsite.mail import services as mail
from eventsite.models import OutboxMessage, Registration, RegistrationStatus, User
from eventsite.timeutil import utcnow

from .test_ticket_emails import assert_ticket

pytestmark = pytest.mark.usefixtures("smtp_sink")


def _register_on_the_page(client, login, make_user, event) -> User:
    """A new person, logged in, registers through the event's form."""
    user = make_user()
    login(user)
    assert client.post(f"/events/{event.slug}/register", data={}).status_code == 302
    return user


def test_confirmation_is_written_with_the_registration_and_sent_by_the_sender(
    app, client, login, make_event, make_user, mailbox
) -> None:
    event = make_event(title="Forum", capacity=5)
    user = _register_on_the_page(client, login, make_user, event)
    # No outbox row beside the registration: its row carries the email's facts.
    assert db.session.scalar(select(OutboxMessage)) is None
    registration = db.session.scalar(select(Registration))
    facts = registration.pending_notice
    assert facts["template"] == "registration_confirmation" and facts["status"] == "confirmed"
    assert (facts["invitation"], facts["ticket"], facts["rank"]) == ("REQUEST", True, None)

    [received] = mailbox()

    assert received.subject == "You are registered: Forum"
    assert received.rcpt_tos == [user.email]
    assert_ticket(received, registration)
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).pending_notice is None
    sent = db.session.scalar(select(OutboxMessage))
    assert sent.to_address == user.email and sent.locale == "en"
    # stored once written, so that a retry sends the very same message
    assert sent.renderer is None and sent.subject == "You are registered: Forum"
    assert "Your ticket" in sent.body_text and len(sent.attachments) == 2
    assert mailbox() == []  # once


def test_the_waiting_list_number_is_written_with_the_registration(
    app, client, login, make_event, make_user, register, mailbox
) -> None:
    event = make_event(title="Forum", capacity=1, has_waiting_list=True)
    register(make_user(), event)
    mailbox()
    user = _register_on_the_page(client, login, make_user, event)
    registration = db.session.scalar(select(Registration).where(Registration.user_id == user.id))
    facts = registration.pending_notice
    assert (facts["status"], facts["rank"], facts["invitation"], facts["ticket"]) == (
        "waitlisted",
        1,
        None,
        False,
    )
    [received] = mailbox()
    assert "on the waiting list: number 1." in received.text
    assert "Your ticket" not in received.text


def test_a_later_message_about_the_registration_follows_its_confirmation(
    app, client, login, make_event, make_user, mailbox
) -> None:
    """Cancelled before the sender came by: the confirmation still goes first, once."""
    event = make_event(title="Forum", capacity=5)
    _register_on_the_page(client, login, make_user, event)
    registration = db.session.scalar(select(Registration))
    response = client.post(f"/registrations/{registration.public_id}/cancel", data={})
    assert response.status_code == 302

    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [row.facts["template"] for row in rows] == [
        "registration_confirmation",
        "registration_cancelled",
    ]
    assert db.session.get(Registration, registration.id).pending_notice is None
    received = mailbox()
    assert [m.subject for m in received] == [
        "You are registered: Forum",
        "Registration cancelled: Forum",
    ]
    assert mailbox() == []


def test_a_confirmation_goes_before_the_news_of_a_changed_event(
    app, make_event, make_user, register
) -> None:
    from eventsite.registration import notifications

    event = make_event(title="Forum", capacity=5)
    register(make_user(), event)  # delivers nothing: the confirmation is on the row
    assert db.session.scalar(select(OutboxMessage)) is None
    notifications.notify_event_changed(event, utcnow())
    db.session.commit()
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [row.facts["template"] if row.facts else row.category for row in rows] == [
        "registration_confirmation",
        "calendar",
    ]


def test_registration_is_kept_when_its_email_cannot_be_written_and_the_sender_retries(
    app, client, login, make_event, make_user, mailbox
) -> None:
    event = make_event(title="Forum", capacity=5)
    user = make_user()
    login(user)
    working = app.jinja_env.loader
    # A broken template (a bad deployment, a translation that does not parse).
    app.jinja_env.loader = ChoiceLoader(
        [DictLoader({"email/registration_confirmation.txt": "{{ oops( }}"}), working]
    )
    try:
        response = client.post(f"/events/{event.slug}/register", data={})
        assert response.status_code == 302  # the person is registered: nothing waited for mail
        registration = db.session.scalar(select(Registration))
        assert registration.status == RegistrationStatus.CONFIRMED

        assert mailbox() == []
        db.session.expire_all()
        row = db.session.scalar(select(OutboxMessage))
        assert row.status == "pending" and row.attempts == 1
        assert row.renderer == "registration"  # still the facts: written on the next try
        assert "could not be written" in row.last_error
        assert "TemplateSyntaxError" in row.last_error
        assert row.next_attempt_at > utcnow()
        assert [r.id for r in mail.summarise_outbox().retrying] == [row.id]  # reported
    finally:
        app.jinja_env.loader = working

    # Fixed: the next round writes and sends it, complete.
    sender.deliver_due(now=utcnow() + timedelta(hours=2))
    [received] = mailbox()
    assert received.subject == "You are registered: Forum"
    assert_ticket(received, registration)


def test_email_about_a_registration_gone_fails_for_good(
    app, make_event, make_user, register
) -> None:
    event = make_event(capacity=5)
    registration = register(make_user(), event)
    mail.queue_pending()  # the confirmation is in the outbox, not yet sent
    db.session.delete(registration)
    db.session.commit()

    report = sender.deliver_due()

    assert (report.sent, report.failed) == (0, 1)
    row = db.session.scalar(select(OutboxMessage))
    assert row.status == "failed"
    assert "no longer exists" in row.last_error


def test_a_registration_deleted_before_its_confirmation_was_queued_sends_nothing(
    app, make_event, make_user, register
) -> None:
    event = make_event(capacity=5)
    registration = register(make_user(), event)
    db.session.delete(registration)
    db.session.commit()

    report = sender.deliver_due()

    assert report.total == 0
    assert db.session.scalar(select(OutboxMessage)) is None


def test_registration_post_locks_for_a_few_statements(
    app, client, login, make_event, make_user, make_question, count_queries
) -> None:
    """From the lock to the commit: the lock, which reads the places the event's row counts
    (no aggregate over the registrations), the INSERT, which carries the email's facts, and
    the webhook endpoints; however many questions the event asks."""

    def locked_statements(n_questions: int) -> list[str]:
        event = make_event(capacity=5)
        for i in range(n_questions):
            make_question(event, label=f"Q{i}", position=i)
        user = make_user()
        login(user)
        db.session.commit()
        db.session.expire_all()
        with count_queries() as counter:
            response = client.post(f"/events/{event.slug}/register", data={})
        assert response.status_code == 302
        first = next(i for i, s in enumerate(counter.statements) if "places_held" in s)
        return counter.statements[first:]

    few, many = locked_statements(1), locked_statements(8)
    kinds = [s.lstrip().split()[0].upper() for s in few]
    assert kinds == [s.lstrip().split()[0].upper() for s in many]
    assert kinds == ["SELECT", "INSERT", "SELECT"]
    assert not any("count(" in s.lower() for s in few)


def test_a_confirmation_another_sender_is_queuing_is_skipped_and_queued_once(
    app, backend, make_event, make_user, register
) -> None:
    """Two senders at once (PostgreSQL: row locks): the one that finds a registration locked
    by the other's claim passes over it; each confirmation reaches the outbox once."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises the senders' claims (BEGIN IMMEDIATE)")
    event = make_event(capacity=5)
    first, second = register(make_user(), event), register(make_user(), event)
    with db.engine.connect() as other:  # another sender, in the middle of its claim
        other.execute(
            text("SELECT id FROM registrations WHERE id = :id FOR UPDATE"), {"id": first.id}
        )
        queued = mail.queue_pending()
        db.session.commit()
        assert [db.session.get(OutboxMessage, i).facts["registration_id"] for i in queued] == [
            second.id
        ]
        other.rollback()
    assert len(mail.queue_pending()) == 1  # the first, once the other let it go
    db.session.commit()
    assert mail.queue_pending() == []
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_outbox_status_counts_the_confirmations_not_yet_in_the_outbox(
    app, runner, make_event, make_user, register, mailbox
) -> None:
    event = make_event(capacity=5)
    register(make_user(), event)
    register(make_user(), event)

    waiting = runner.invoke(args=["outbox", "status"]).output
    assert "pending: 0" in waiting
    assert "2 more written with their registrations" in waiting

    assert len(mailbox()) == 2
    done = runner.invoke(args=["outbox", "status"]).output
    assert "sent: 2" in done and "written with" not in done


def test_a_confirmation_to_an_address_gone_bad_holds_up_no_other(
    app, make_event, make_user, register, mailbox, caplog
) -> None:
    """An address changed by hand since registering into one no message can go to: that
    confirmation is dropped with a warning, and the others still go out, in every round."""
    event = make_event(title="Forum", capacity=5)
    broken = register(make_user(), event)
    fine = make_user()
    register(fine, event)
    db.session.execute(
        text("UPDATE users SET email = 'two words@example.org' WHERE id = :id"),
        {"id": broken.user_id},
    )
    db.session.commit()

    received = mailbox()

    assert [m.rcpt_tos for m in received] == [[fine.email]]
    assert "is not an address to send to" in caplog.text
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    assert mail.summarise_outbox().unqueued == 0  # not left to block the next round


def test_in_development_the_confirmation_arrives_after_the_request_without_a_worker(
    app, client, login, make_event, make_user, smtp_sink
) -> None:
    """MAIL_DELIVER_AFTER_REQUEST: the request's own confirmation is moved to the outbox and
    sent by the after-request thread; nobody runs the sender."""
    from eventsite.mail.after_request import wait_for_deliveries

    app.config["MAIL_DELIVER_AFTER_REQUEST"] = True
    _controller, handler = smtp_sink
    event = make_event(title="Forum", capacity=5)
    user = _register_on_the_page(client, login, make_user, event)
    assert wait_for_deliveries()

    with handler.lock:
        arrived = list(handler.messages)
    assert [list(envelope.rcpt_tos) for envelope in arrived] == [[user.email]]
    db.session.expire_all()
    assert db.session.scalar(select(Registration)).pending_notice is None
    assert db.session.scalars(select(OutboxMessage.status)).all() == ["sent"]
