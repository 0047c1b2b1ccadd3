"""Images inside the HTML part (a ticket's QR code): multipart/related with a Content-ID,
alone or beside a calendar invitation, as the message arrives at a real SMTP server."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.mail import mime, sender, services
from eventsite.mail.models import OutboxMessage, OutboxStatus

from .conftest import received
from .test_sender import ICS

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # the layout is what is tested, not the picture


def _related(alternative):
    plain, related, *rest = alternative.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert html.get_content_type() == "text/html"
    return html, image, rest


def test_inline_image_sits_beside_the_html_with_its_content_id(smtp_sink, app, queue):
    _controller, handler = smtp_sink
    image = services.inline_image("ticket.png", "image/png", PNG)
    queue(attachments=[image])

    sender.deliver_due()

    [msg] = received(handler)
    assert msg.get_content_type() == "multipart/alternative"
    html, part, rest = _related(msg)
    assert rest == []
    assert part.get_content_type() == "image/png"
    assert part["Content-ID"] == f"<{image.content_id}>"
    assert part.get_content_disposition() == "inline"
    assert part.get_filename() == "ticket.png"
    assert part.get_payload(decode=True) == PNG
    assert list(msg.iter_attachments()) == []  # not a file to download
    # the stdlib's reader (and mail clients) still find both bodies
    assert msg.get_body(("html",)).get_content() == html.get_content()
    assert "test message" in msg.get_body(("plain",)).get_content()


def test_inline_image_and_calendar_invitation_keep_outlooks_layout(smtp_sink, app, queue):
    _controller, handler = smtp_sink
    image = services.inline_image("ticket.png", "image/png", PNG)
    queue(attachments=[services.calendar_invitation("forum.ics", "REQUEST", ICS), image])

    sender.deliver_due()

    [msg] = received(handler)
    assert msg.get_content_type() == "multipart/mixed"
    alternative, attachment = msg.get_payload()
    _html, part, [calendar] = _related(alternative)
    assert part["Content-ID"] == f"<{image.content_id}>"
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == "REQUEST"
    assert attachment.get_filename() == "forum.ics"
    assert [a.get_filename() for a in msg.iter_attachments()] == ["forum.ics"]


def test_every_delivery_attempt_carries_the_same_content_id(app, queue):
    image = services.inline_image("ticket.png", "image/png", PNG)
    [row] = queue(attachments=[image])

    ids = [
        [part["Content-ID"] for part in mime.build_message(row, sender="a@b.test").walk()]
        for _attempt in range(2)
    ]
    assert ids[0] == ids[1]
    assert f"<{image.content_id}>" in ids[0]


@pytest.mark.parametrize(
    "change",
    [
        {"content_id": "x@y>\r\nBcc: victim@example.org"},
        {"content_id": "no brackets <allowed>@example.org"},
        {"content_type": "text/html"},
    ],
)
def test_a_broken_inline_part_fails_the_message_not_the_worker(smtp_sink, app, queue, change):
    _controller, handler = smtp_sink
    image = services.inline_image("ticket.png", "image/png", PNG)
    [row] = queue(attachments=[image])
    row.attachments = [{**row.attachments[0], **change}]
    db.session.commit()

    report = sender.deliver_due()

    assert (report.sent, report.failed) == (0, 1)
    assert handler.messages == []
    stored = db.session.scalar(select(OutboxMessage))
    assert stored.status == OutboxStatus.FAILED
    assert "cannot build the message" in stored.last_error
