"""The outbox sender against a real SMTP server: what arrives, and what happens when the
server is down, refuses, or two workers race."""

from __future__ import annotations

import email
import email.header
import email.policy
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.mail import sender, services
from eventsite.mail.models import OutboxMessage, OutboxStatus
from eventsite.timeutil import utcnow

from .conftest import parse, received

ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//eventsite//test//EN\r\nMETHOD:REQUEST\r\n"
    b"BEGIN:VEVENT\r\nUID:event-1@eventsite.test\r\nDTSTAMP:20261129T120000Z\r\n"
    b"DTSTART:20261201T090000Z\r\nSUMMARY:Forum\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_queued_message_arrives_once_with_both_parts_and_headers(smtp_sink, app, queue):
    _controller, handler = smtp_sink
    app.config["MAIL_REPLY_TO"] = "Programme team <programme@eventsite.test>"
    [row] = queue(to="ada@example.org", subject="Your registration", note="<b>bold?</b>")

    report = sender.deliver_due()

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [envelope] = handler.messages
    assert envelope.rcpt_tos == ["ada@example.org"]
    assert envelope.mail_from == "no-reply@eventsite.test"
    [msg] = received(handler)
    assert msg["From"] == "eventsite <no-reply@eventsite.test>"
    assert msg["To"] == "ada@example.org"
    assert msg["Reply-To"] == "Programme team <programme@eventsite.test>"
    assert msg["Subject"] == "Your registration"
    assert msg["Message-ID"] == row.message_id
    assert msg["Auto-Submitted"] == "auto-generated"
    assert abs(msg["Date"].datetime - row.created_at) < timedelta(seconds=1)
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "This is a test message from eventsite." in text
    assert "<b>bold?</b>" in text  # plain text is not escaped
    assert "http://localhost/" in text  # the layout's link back
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html  # HTML is autoescaped
    assert '<a href="http://localhost/"' in html
    stored = rows()[0]
    assert stored.status == OutboxStatus.SENT
    assert stored.attempts == 1
    assert stored.sent_at is not None

    assert sender.deliver_due().total == 0
    assert len(handler.messages) == 1


def test_plain_attachment_keeps_its_type_and_name(smtp_sink, app, queue):
    _controller, handler = smtp_sink
    queue(attachments=[services.Attachment("notes.txt", "text/plain; charset=utf-8", b"hi")])

    sender.deliver_due()

    [msg] = received(handler)
    assert msg.get_content_type() == "multipart/mixed"
    assert msg.get_body(preferencelist=("plain",)) is not None
    [part] = list(msg.iter_attachments())
    assert part.get_content_type() == "text/plain"
    assert part.get_filename() == "notes.txt"
    assert part.get_payload(decode=True) == b"hi"


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_invitation_is_laid_out_as_outlook_sends_it(smtp_sink, app, queue, method):
    """MS-OXCMAIL: multipart/mixed > multipart/alternative (text/plain, text/html,
    text/calendar; method=...; charset=UTF-8), then the .ics attached for download."""
    _controller, handler = smtp_sink
    queue(attachments=[services.calendar_invitation("forum.ics", method, ICS)])

    sender.deliver_due()

    [msg] = received(handler)
    assert msg.get_content_type() == "multipart/mixed"
    alternative, attachment = msg.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, html, calendar = alternative.get_payload()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == method
    assert calendar.get_content_charset() == "utf-8"
    assert calendar.get_content_disposition() is None  # a body part, not a file
    assert calendar.get_payload(decode=True) == ICS
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "forum.ics"
    assert attachment.get_payload(decode=True) == ICS


@pytest.mark.parametrize(
    "subject",
    [
        # Each of these lost a space with Python 3.11's own folding.
        "You are registered: Annual Science and Society Forum — 科学与社会论坛 🚀🌍",
        "You are on the waiting list: Open Science Forum — 科学与社会论坛 🚀🌍",
        "A place is yours: Forum on Science and Society 2026 — 科学与社会论坛 🚀🌍",
        "Changed: Forum",
    ],
)
def test_non_ascii_subject_keeps_its_spaces_on_the_wire(smtp_sink, app, queue, subject):
    _controller, handler = smtp_sink
    queue(subject=subject)

    sender.deliver_due()

    [envelope] = handler.messages
    head = envelope.content.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    raw_subject = email.message_from_bytes(envelope.content, policy=email.policy.compat32)[
        "Subject"
    ]
    # Two independent decoders: the modern parser and the RFC 2047 decoder of old.
    assert str(parse(envelope)["Subject"]) == subject
    assert str(email.header.make_header(email.header.decode_header(raw_subject))) == subject


def test_header_injection_in_subject_and_reply_to_name_adds_no_header(smtp_sink, app, queue):
    _controller, handler = smtp_sink
    [row] = queue(
        to="friend@example.org",
        subject="Ada recommends\r\nBcc: victim@example.org\nX-Evil: 1",
        reply_to='"Ada\r\nBcc: victim@example.org" <ada@example.org>',
    )

    assert sender.deliver_due().sent == 1

    [envelope] = handler.messages
    assert envelope.rcpt_tos == ["friend@example.org"]
    [msg] = received(handler)
    assert msg["Bcc"] is None
    assert msg["X-Evil"] is None
    assert msg["Subject"] == "Ada recommends Bcc: victim@example.org X-Evil: 1"
    assert msg["Reply-To"].addresses[0].addr_spec == "ada@example.org"
    assert b"\nBcc:" not in envelope.content
    assert row.message_id == msg["Message-ID"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("to", "friend@example.org\r\nBcc: victim@example.org"),
        ("to", "friend@example.org, victim@example.org"),
        ("reply_to", "ada@example.org\r\nBcc: victim@example.org"),
        ("reply_to", "not an address"),
    ],
)
def test_queue_refuses_addresses_that_are_not_addresses(app, field, value):
    kwargs = {"to": "friend@example.org", "reply_to": None, field: value}
    with pytest.raises(ValueError):
        services.queue_email(
            kwargs["to"], "Hi", "test_message", language="en", reply_to=kwargs["reply_to"]
        )
    db.session.rollback()
    assert rows() == []


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("subject", "Hello\r\nBcc: victim@example.org"),
        ("reply_to", "ada@example.org\r\nBcc: victim@example.org"),
        ("to_address", "friend@example.org\nBcc: victim@example.org"),
    ],
)
def test_a_row_written_around_queue_email_still_cannot_inject(smtp_sink, app, queue, column, value):
    _controller, handler = smtp_sink
    [row] = queue(to="friend@example.org")
    setattr(row, column, value)
    db.session.commit()

    report = sender.deliver_due()

    assert (report.sent, report.failed) == (0, 1)
    assert handler.messages == []
    [stored] = rows()
    assert stored.status == OutboxStatus.FAILED
    assert "cannot build the message" in stored.last_error


def test_outage_loses_nothing_and_every_message_arrives_exactly_once(app, restartable_smtp, queue):
    server = restartable_smtp
    server.stop()
    queued = queue(4)
    t0 = utcnow()

    report = sender.deliver_due(now=t0)

    assert (report.sent, report.retried, report.failed) == (0, 4, 0)
    for row in rows():
        assert row.status == OutboxStatus.PENDING
        assert row.attempts == 1
        assert "refused" in row.last_error.lower()
        assert row.next_attempt_at == t0 + timedelta(seconds=30)
    assert sender.deliver_due(now=t0 + timedelta(seconds=10)).total == 0  # backing off

    server.start()  # the same port again
    report = sender.deliver_due(now=t0 + timedelta(seconds=31))

    assert (report.sent, report.retried, report.failed) == (4, 0, 0)
    arrived = Counter(msg["Message-ID"] for msg in received(server.handler))
    assert arrived == Counter(row.message_id for row in queued)
    assert all(row.status == OutboxStatus.SENT and row.attempts == 2 for row in rows())

    assert sender.deliver_due(now=t0 + timedelta(hours=3)).total == 0
    assert len(server.handler.messages) == 4


def test_backoff_doubles_and_gives_up_after_max_attempts(app, restartable_smtp, queue):
    server = restartable_smtp
    server.stop()
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    queue(1)
    t0 = utcnow()

    sender.deliver_due(now=t0)
    assert rows()[0].next_attempt_at == t0 + timedelta(seconds=30)
    t1 = t0 + timedelta(seconds=30)
    sender.deliver_due(now=t1)
    assert rows()[0].next_attempt_at == t1 + timedelta(seconds=60)
    report = sender.deliver_due(now=t1 + timedelta(seconds=60))

    assert report.failed == 1
    [row] = rows()
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 3
    assert row.last_error.startswith("gave up after 3 attempts")
    server.start()
    assert sender.deliver_due(now=t0 + timedelta(days=1)).total == 0
    assert server.handler.messages == []


def test_backoff_is_capped_at_an_hour(app):
    delays = [sender.retry_delay(n, app.config).total_seconds() for n in (1, 2, 3, 7, 8, 20)]
    assert delays == [30, 60, 120, 1920, 3600, 3600]


def test_permanent_rejection_marks_failed_and_the_rest_still_goes(app, scripted_smtp, queue):
    handler = scripted_smtp(
        rcpt_reply=lambda address: "550 no such user" if address.startswith("nobody@") else None
    )
    queue(1, to="nobody@example.org")
    queue(1, to="somebody@example.org")

    report = sender.deliver_due()

    assert (report.sent, report.retried, report.failed) == (1, 0, 1)
    nobody, somebody = rows()
    assert nobody.status == OutboxStatus.FAILED
    assert nobody.attempts == 1
    assert "550 no such user" in nobody.last_error
    assert somebody.status == OutboxStatus.SENT
    assert [m["To"] for m in received(handler)] == ["somebody@example.org"]


def test_temporary_rejection_is_retried(app, scripted_smtp, queue):
    handler = scripted_smtp(rcpt_reply=lambda _address: "450 mailbox busy, try later")
    queue(1)

    report = sender.deliver_due()

    assert report.retried == 1
    [row] = rows()
    assert row.status == OutboxStatus.PENDING
    assert "450 mailbox busy" in row.last_error
    assert handler.messages == []


def test_data_refused_with_5xx_fails(app, scripted_smtp, queue):
    scripted_smtp(data_reply="554 5.7.1 looks like spam")
    queue(1)

    assert sender.deliver_due().failed == 1
    [row] = rows()
    assert row.status == OutboxStatus.FAILED
    assert "554 5.7.1 looks like spam" in row.last_error


def test_a_resend_after_a_lost_commit_carries_the_same_message_id(smtp_sink, app, queue):
    """The window SMTP leaves open: accepted by the server, but the 'sent' mark was lost
    (crash, database gone). The retry is the same message, so receivers can dedupe."""
    _controller, handler = smtp_sink
    [row] = queue(1)
    sender.deliver_due()
    row = rows()[0]
    row.status = OutboxStatus.PENDING  # as if the commit after the send had been lost
    db.session.commit()

    sender.deliver_due()

    first, second = received(handler)
    for name in ("Message-ID", "Date", "Subject", "From", "To"):
        assert first[name] == second[name]
    assert first["Message-ID"] == row.message_id


def test_without_mail_server_messages_are_printed_and_marked_sent(app, queue, capsys):
    assert app.config["MAIL_SERVER"] is None
    [row] = queue(to="ada@example.org", subject="Console please")

    report = sender.deliver_due()

    assert report.sent == 1
    out = capsys.readouterr().out
    assert "Subject: Console please" in out
    assert "To: ada@example.org" in out
    assert f"Message-ID: {row.message_id}" in out
    assert "This is a test message from eventsite." in out
    assert rows()[0].status == OutboxStatus.SENT


def test_production_without_mail_server_keeps_mail_pending(app, queue, capsys):
    app.config["ENV_NAME"] = "production"
    queue(1)

    with pytest.raises(sender.MailConfigError, match="MAIL_SERVER"):
        sender.deliver_due()

    assert rows()[0].status == OutboxStatus.PENDING
    assert "Subject:" not in capsys.readouterr().out


def test_limit_caps_one_run(smtp_sink, app, queue):
    _controller, handler = smtp_sink
    queue(3)
    assert sender.deliver_due(limit=2).sent == 2
    assert sender.deliver_due().sent == 1
    assert len(handler.messages) == 3
