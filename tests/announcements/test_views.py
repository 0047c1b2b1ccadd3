"""Notify me: double opt-in from the coming-soon page, one-click unsubscribe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventsite.accounts import tokens
from eventsite.extensions import db
from eventsite.models import AnnouncementSubscriber, OutboxMessage
from eventsite.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("smtp_sink")


def subscribers() -> list[AnnouncementSubscriber]:
    db.session.expire_all()
    return db.session.scalars(select(AnnouncementSubscriber)).all()


def test_coming_soon_page_has_the_email_box(client) -> None:
    html = client.get("/").get_data(as_text=True)
    assert 'action="/notify"' in html
    assert 'type="email"' in html


def test_double_opt_in(client, mailbox) -> None:
    response = client.post("/notify", data={"email": "Fan@Example.org"})
    assert response.status_code == 302
    assert "follow its link to confirm" in client.get("/").get_data(as_text=True)
    (subscriber,) = subscribers()
    assert subscriber.email == "fan@example.org"
    assert not subscriber.is_confirmed

    (message,) = mailbox()
    assert message.rcpt_tos == ["fan@example.org"]
    assert "/notify/unsubscribe/" in message.text
    page = client.get(message.link("/notify/confirm/"))
    assert page.status_code == 200
    assert "you are on the list" in page.get_data(as_text=True)
    assert subscribers()[0].is_confirmed


def test_the_answer_is_the_same_for_new_pending_and_confirmed_addresses(client, mailbox) -> None:
    first = client.post("/notify", data={"email": "fan@example.org"})
    client.get(mailbox()[0].link("/notify/confirm/"))
    again = client.post("/notify", data={"email": "fan@example.org"})
    other = client.post("/notify", data={"email": "new@example.org"})
    assert first.status_code == again.status_code == other.status_code == 302
    # The confirmed address gets nothing more; the new one its link.
    assert [m.rcpt_tos for m in mailbox()] == [["new@example.org"]]
    assert len(subscribers()) == 2


def test_bad_addresses_are_refused_clearly(client) -> None:
    for bad in ["nope", "a@example.org\r\nBcc: b@example.org", "a@example.org, b@example.org"]:
        response = client.post("/notify", data={"email": bad})
        assert response.status_code == 422
        assert "Enter a" in response.get_data(as_text=True)
    assert subscribers() == []


def test_unsubscribe_is_one_click_without_login(client, mailbox) -> None:
    client.post("/notify", data={"email": "fan@example.org"})
    (message,) = mailbox()
    client.get(message.link("/notify/confirm/"))
    link = message.link("/notify/unsubscribe/")
    page = client.get(link)
    assert page.status_code == 200
    assert "fan@example.org is unsubscribed" in page.get_data(as_text=True)
    assert subscribers() == []
    assert client.get(link).status_code == 200  # again: still fine
    assert client.get(link[:-3] + "xyz").status_code == 400


def test_expired_and_forged_confirmation_links_are_refused(client) -> None:
    client.post("/notify", data={"email": "fan@example.org"})
    old = tokens.make_token(
        tokens.ANNOUNCE_CONFIRM, {"email": "fan@example.org"}, utcnow() - timedelta(days=8)
    )
    response = client.get(f"/notify/confirm/{old}")
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    # An unsubscribe token is not a confirmation token.
    other = tokens.make_token(tokens.ANNOUNCE_UNSUBSCRIBE, {"email": "fan@example.org"}, utcnow())
    assert client.get(f"/notify/confirm/{other}").status_code == 400
    assert not subscribers()[0].is_confirmed


@pytest.mark.usefixtures("rate_limits_on")
def test_notify_me_is_rate_limited(client) -> None:
    for n in range(2):
        assert client.post("/notify", data={"email": f"f{n}@example.org"}).status_code == 302
    response = client.post("/notify", data={"email": "f9@example.org"})
    assert response.status_code == 429
    assert "too many times" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


@pytest.mark.usefixtures("csrf_enabled")
def test_notify_me_without_csrf_token_is_refused(client) -> None:
    assert client.post("/notify", data={"email": "fan@example.org"}).status_code == 400
    assert subscribers() == []
