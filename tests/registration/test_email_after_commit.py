"""A registration's email is queued as facts and written by the sender after the commit
(issue #16): the registration never waits for templates, QR codes or calendars, an email
that cannot be written does not lose the registration, and the sender retries and reports
it until it can be written; the POST holds few statements."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.mail import sender
from eventsite.mail import services as mail
from eventsite.models import OutboxMessage, Registration, RegistrationStatus
from eventsite.timeutil import utcnow

from .test_ticket_emails import assert_ticket

pytestmark = pytest.mark.usefixtures("smtp_sink")


def test_confirmation_is_queued_as_facts_and_written_when_sent(
    app, client, login, make_event, make_user, mailbox
) -> None:
    event = make_event(title="Forum", capacity=5)
    user = make_user()
    login(user)
    response = client.post(f"/events/{event.slug}/register", data={})
    assert response.status_code == 302
    row = db.session.scalar(select(OutboxMessage))
    assert row.renderer == "registration" and row.to_address == user.email
    assert row.body_text == "" and row.attachments == []
    assert row.locale == "en"

    [received] = mailbox()

    assert received.subject == "You are registered: Forum"
    registration = db.session.scalar(select(Registration))
    assert_ticket(received, registration)
    db.session.expire_all()
    sent = db.session.get(OutboxMessage, row.id)
    # stored once written, so that a retry sends the very same message
    assert sent.renderer is None and sent.subject == "You are registered: Forum"
    assert "Your ticket" in sent.body_text and len(sent.attachments) == 2


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
    db.session.delete(registration)
    db.session.commit()

    report = sender.deliver_due()

    assert (report.sent, report.failed) == (0, 1)
    row = db.session.scalar(select(OutboxMessage))
    assert row.status == "failed"
    assert "no longer exists" in row.last_error


def test_registration_post_locks_for_a_few_statements(
    app, client, login, make_event, make_user, make_question, count_queries
) -> None:
    """From the lock to the commit: the lock, which reads the places the event's row counts
    (no aggregate over the registrations), the INSERT, the webhook endpoints and the email's
    facts; however many questions the event asks."""

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
    assert kinds == ["SELECT", "INSERT", "SELECT", "INSERT"]
    assert not any("count(" in s.lower() for s in few)
