"""An SMTP outage seen from the pages: people act while the mail server is down, the pages
answer as usual, and once it is back every message arrives, exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from eventsite.extensions import db
from eventsite.mail import sender
from eventsite.mail.models import OutboxMessage, OutboxStatus
from eventsite.timeutil import utcnow

from .conftest import received


def outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_sign_up_reset_share_and_register_during_an_outage_all_arrive_once(
    app, restartable_smtp, client, login, make_user, make_event
) -> None:
    server = restartable_smtp
    event = make_event(title="Outage Forum", capacity=10)
    known = make_user(email="known@example.org")
    attendee = make_user(email="attendee@example.org")
    server.stop()

    signup = client.post(
        f"/signup?next=/events/{event.slug}/register",
        data={"name": "Ada", "email": "ada@example.org", "password": "lovelace engine 1843"},
    )
    assert signup.status_code == 302
    reset = client.post("/password/forgot", data={"email": "known@example.org"})
    assert reset.status_code == 302
    shared = client.post(
        f"/events/{event.slug}/share",
        data={"email": "friend@example.org", "name": "Grace", "note": "Come along"},
    )
    assert shared.status_code == 302
    login(attendee)
    registered = client.post(f"/events/{event.slug}/register", data={})
    assert registered.status_code == 302
    assert known.email == "known@example.org"

    t0 = utcnow()
    report = sender.deliver_due(now=t0)
    assert (report.sent, report.retried, report.failed) == (0, 4, 0)
    assert all(row.status == OutboxStatus.PENDING for row in outbox())
    assert server.handler.messages == []

    server.start()
    report = sender.deliver_due(now=t0 + timedelta(seconds=31))
    assert (report.sent, report.retried, report.failed) == (4, 0, 0)
    assert sender.deliver_due(now=t0 + timedelta(hours=2)).total == 0  # nothing sent twice

    messages = received(server.handler)
    assert Counter(m["Message-ID"] for m in messages) == Counter(r.message_id for r in outbox())
    assert all(n == 1 for n in Counter(m["Message-ID"] for m in messages).values())
    by_recipient = {str(m["To"]): str(m["Subject"]) for m in messages}
    assert by_recipient == {
        "ada@example.org": "Confirm your email address",
        "known@example.org": "Reset your password",
        "friend@example.org": "An event you might like: Outage Forum",
        "attendee@example.org": "You are registered: Outage Forum",
    }

    # The message sent late still works: the verification link confirms the address.
    [verify] = [m for m in messages if m["To"] == "ada@example.org"]
    text = verify.get_body(("plain",)).get_content()
    link = next(word for word in text.split() if "/account/verify/" in word)
    response = client.get(link.removeprefix("http://localhost"))
    assert response.status_code == 302


def test_an_outage_does_not_change_what_the_pages_say(app, restartable_smtp, client) -> None:
    restartable_smtp.stop()
    response = client.post(
        "/signup",
        data={"name": "Ada", "email": "ada@example.org", "password": "lovelace engine 1843"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "We have sent a message to ada@example.org: follow the link" in response.get_data(
        as_text=True
    )
    [row] = outbox()
    assert (row.status, row.to_address) == (OutboxStatus.PENDING, "ada@example.org")
