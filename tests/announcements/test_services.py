"""announce_first_publication: every confirmed subscriber, exactly once, even when racing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import func, select

from eventsite.announcements import services
from eventsite.events import services as event_services
from eventsite.extensions import db
from eventsite.models import Announcement, AnnouncementSubscriber, EventStatus, OutboxMessage

pytestmark = pytest.mark.usefixtures("smtp_sink")

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


def add_subscribers(confirmed: int, pending: int = 0) -> None:
    for n in range(confirmed):
        db.session.add(AnnouncementSubscriber(email=f"fan{n}@example.org", confirmed_at=NOW))
    for n in range(pending):
        db.session.add(AnnouncementSubscriber(email=f"maybe{n}@example.org"))
    db.session.commit()


def outbox() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def test_every_confirmed_subscriber_gets_one_email_with_the_listing_and_unsubscribe(
    app, mailbox
) -> None:
    add_subscribers(confirmed=3, pending=2)
    assert services.announce_first_publication(NOW) == 3
    db.session.commit()
    messages = mailbox()
    assert sorted(m.rcpt_tos[0] for m in messages) == [
        "fan0@example.org",
        "fan1@example.org",
        "fan2@example.org",
    ]
    for message in messages:
        assert "http://localhost/events/" in message.text
        assert "/notify/unsubscribe/" in message.text
        assert "/notify/unsubscribe/" in message.html
        assert str(message.message["List-Unsubscribe"]).endswith("/one-click>")


def test_a_second_call_sends_nothing(app) -> None:
    add_subscribers(confirmed=2)
    assert services.announce_first_publication(NOW) == 2
    db.session.commit()
    assert services.announce_first_publication(NOW) == 0
    db.session.commit()
    assert outbox() == 2


def test_a_rolled_back_publication_leaves_the_announcement_for_later(app) -> None:
    add_subscribers(confirmed=1)
    services.announce_first_publication(NOW)
    db.session.rollback()
    assert outbox() == 0
    assert services.announce_first_publication(NOW) == 1
    db.session.commit()
    assert outbox() == 1


def test_publishing_events_announces_once(app, make_event, mailbox) -> None:
    add_subscribers(confirmed=2)
    first = make_event(status=EventStatus.DRAFT, published_at=None)
    second = make_event(status=EventStatus.DRAFT, published_at=None)
    event_services.publish_event(first, NOW)
    db.session.commit()
    event_services.publish_event(second, NOW)
    db.session.commit()
    assert len(mailbox()) == 2
    assert db.session.scalar(select(Announcement.recipient_count)) == 2


@pytest.mark.slow
def test_two_servers_publishing_at_once_announce_once(app: Flask) -> None:
    add_subscribers(confirmed=5)
    barrier = threading.Barrier(2)
    sent: list[object] = []

    def publish() -> None:
        with app.app_context():
            try:
                barrier.wait()
                count = services.announce_first_publication(NOW)
                db.session.commit()
                sent.append(count)
            except Exception as err:  # pragma: no cover - the failure we look for
                sent.append(err)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(sent, key=str) == [0, 5]
    db.session.expire_all()
    assert outbox() == 5
