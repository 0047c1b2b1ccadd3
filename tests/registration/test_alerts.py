""" "Tell me when registration opens": subscribing, confirming, the one email, unsubscribing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.registration import alerts
from eventsite.registration.models import OpeningAlert
from eventsite.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("smtp_sink")


@pytest.fixture
def soon_open(make_event):
    """An event whose registration opens in two days."""
    now = utcnow()
    starts = now + timedelta(days=30)
    return make_event(
        slug="opens-later",
        title="Opens later",
        starts_at=starts,
        ends_at=starts + timedelta(hours=8),
        registration_opens_at=now + timedelta(days=2),
    )


def rows() -> list[OpeningAlert]:
    db.session.expire_all()
    return list(db.session.scalars(select(OpeningAlert).order_by(OpeningAlert.id)))


def test_the_event_page_offers_the_alert_only_before_registration_opens(
    client, soon_open, make_event
) -> None:
    page = client.get("/events/opens-later").text
    assert "Tell me when registration opens" in page
    assert 'href="/events/opens-later/alert"' in page
    make_event(slug="open-now")
    assert "Tell me when registration opens" not in client.get("/events/open-now").text
    response = client.post("/events/open-now/alert", data={"email": "a@example.org"})
    assert response.status_code == 302
    assert rows() == []


def test_a_logged_in_person_is_subscribed_at_once(
    client, login, make_user, soon_open, mailbox
) -> None:
    user = make_user(email="Ada@Example.org")
    login(user)
    page = client.get("/events/opens-later/alert").text
    assert "The email goes to <bdi>Ada@Example.org</bdi>." in page
    assert 'name="email"' not in page
    assert client.post("/events/opens-later/alert").status_code == 302
    assert "We will email you when registration opens." in client.get("/events/opens-later").text
    [alert] = rows()
    assert (alert.email, alert.user_id, alert.is_confirmed) == ("ada@example.org", user.id, True)
    assert mailbox() == []  # nothing to confirm
    assert client.post("/events/opens-later/alert").status_code == 302  # twice: one row
    assert len(rows()) == 1


def test_a_visitor_confirms_the_address_then_gets_one_email_when_registration_opens(
    client, soon_open, mailbox
) -> None:
    response = client.post("/events/opens-later/alert", data={"email": "visitor@example.org"})
    assert response.status_code == 302
    [confirmation] = mailbox()
    assert confirmation.rcpt_tos == ["visitor@example.org"]
    assert "Opens later" in confirmation.subject
    [alert] = rows()
    assert not alert.is_confirmed

    opened = soon_open.registration_opens_at + timedelta(minutes=1)
    assert alerts.send_opening_alerts(opened) == 0  # not confirmed: nothing

    link = confirmation.link("/alerts/confirm/")
    asked = client.get(link)
    assert asked.status_code == 200 and "Yes, tell me" in asked.text
    assert rows()[0].confirmed_at is None  # a GET (a mail scanner) changes nothing
    done = client.post(link)
    assert "we will email you when registration opens for Opens later" in done.text
    assert rows()[0].is_confirmed

    assert alerts.send_opening_alerts(soon_open.registration_opens_at - timedelta(hours=1)) == 0
    assert alerts.send_opening_alerts(opened) == 1
    assert alerts.send_opening_alerts(opened + timedelta(hours=1)) == 0
    [message] = mailbox()
    assert message.subject == "Registration is open: Opens later"
    assert "/events/opens-later/register" in message.text
    assert message.message["List-Unsubscribe"]
    unsubscribe = message.link("/alerts/unsubscribe/")
    assert client.get(unsubscribe).status_code == 200
    assert client.post(unsubscribe).status_code == 200
    assert rows() == []


def test_bad_links_are_refused_clearly(client, soon_open) -> None:
    for path in ("/alerts/confirm/forged", "/alerts/unsubscribe/forged"):
        response = client.get(path)
        assert response.status_code == 400
        assert "This link does not work" in response.text
    assert client.post("/alerts/unsubscribe/forged/one-click").status_code == 400


def test_a_bad_address_is_refused_with_a_message(client, soon_open) -> None:
    response = client.post("/events/opens-later/alert", data={"email": "not an address"})
    assert response.status_code == 422
    assert rows() == []


def test_two_workers_send_each_subscriber_one_alert(app, soon_open, mailbox) -> None:
    now = utcnow()
    addresses = sorted(f"s{i}@example.org" for i in range(120))
    db.session.add_all(
        OpeningAlert(event_id=soon_open.id, email=a, created_at=now, confirmed_at=now)
        for a in addresses
    )
    db.session.add(OpeningAlert(event_id=soon_open.id, email="unconfirmed@example.org"))
    db.session.commit()
    opened = soon_open.registration_opens_at + timedelta(minutes=1)
    db.session.remove()
    start = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                start.wait(timeout=10)
                counts.append(alerts.send_opening_alerts(opened))
        except BaseException as err:  # pragma: no cover - shown by the assertion
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(counts) == 120
    assert sorted(r for m in mailbox() for r in m.rcpt_tos) == addresses
    assert alerts.send_opening_alerts(opened) == 0
