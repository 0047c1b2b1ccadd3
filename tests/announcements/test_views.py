"""Notify me: double opt-in from the coming-soon page, one-click unsubscribe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventsite.accounts import tokens
from eventsite.announcements import services
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
    link = message.link("/notify/confirm/")
    page = client.get(link)  # what a link checker opening the message would do, too
    assert page.status_code == 200
    expected = "Send <bdi>fan@example.org</bdi> one email when eventsite announces"
    assert expected in page.get_data(as_text=True)
    assert f'action="{link}"' in page.get_data(as_text=True)
    assert not subscribers()[0].is_confirmed  # nothing happened yet
    done = client.post(link)
    assert done.status_code == 200
    assert "you are on the list" in done.get_data(as_text=True)
    assert subscribers()[0].is_confirmed
    # Opening the link again just says so.
    assert "you are on the list" in client.get(link).get_data(as_text=True)


def test_the_answer_is_the_same_for_new_pending_and_confirmed_addresses(client, mailbox) -> None:
    first = client.post("/notify", data={"email": "fan@example.org"})
    client.post(mailbox()[0].link("/notify/confirm/"))
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


def confirmed_fan(client, mailbox):
    """fan@example.org on the list; returns the confirmation message."""
    services.subscribe(
        "fan@example.org", now=utcnow(), language="en"
    )  # as the form does (CSRF or not)
    db.session.commit()
    (message,) = mailbox()
    services.confirm_subscription(message.link("/notify/confirm/").rsplit("/", 1)[1], utcnow())
    db.session.commit()
    assert subscribers()[0].is_confirmed
    return message


def test_the_unsubscribe_link_asks_first_then_works_without_login(client, mailbox) -> None:
    link = confirmed_fan(client, mailbox).link("/notify/unsubscribe/")
    page = client.get(link)  # what a link checker opening the message would do, too
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Stop announcement emails from eventsite to <bdi>fan@example.org</bdi>?" in html
    assert f'action="{link}"' in html
    assert len(subscribers()) == 1  # nothing happened yet

    done = client.post(link)
    assert done.status_code == 200
    assert "fan@example.org is unsubscribed" in done.get_data(as_text=True)
    assert subscribers() == []
    assert client.post(link).status_code == 200  # again: still fine
    assert client.get(link[:-3] + "xyz").status_code == 400
    assert client.post(link[:-3] + "xyz").status_code == 400


@pytest.mark.usefixtures("csrf_enabled")
def test_the_unsubscribe_page_needs_its_csrf_token(client, mailbox) -> None:
    link = confirmed_fan(client, mailbox).link("/notify/unsubscribe/")
    assert client.post(link).status_code == 400
    assert len(subscribers()) == 1
    html = client.get(link).get_data(as_text=True)
    token = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post(link, data={"csrf_token": token}).status_code == 200
    assert subscribers() == []


@pytest.mark.usefixtures("csrf_enabled")
def test_mail_clients_unsubscribe_with_one_click(client, mailbox, smtp_sink) -> None:
    message = confirmed_fan(client, mailbox)
    header = str(message.message["List-Unsubscribe"])
    assert header.startswith("<http://localhost/notify/unsubscribe/")
    assert header.endswith("/one-click>")
    assert message.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # On the wire the address is one plain line, not folded into encoded words.
    _controller, handler = smtp_sink
    raw = handler.messages[-1].content.decode()
    assert f"List-Unsubscribe: {header}\r\n" in raw

    one_click = header[1:-1].removeprefix("http://localhost")
    # RFC 8058: a bare POST, no cookie, no CSRF token.
    response = client.post(one_click, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "Unsubscribed.\n"
    assert subscribers() == []
    assert client.post(one_click[:-13] + "xyz/one-click").status_code == 400
    # A person who opens the address lands on the page that asks.
    opened = client.get(one_click)
    assert opened.status_code == 303
    assert opened.headers["Location"] == one_click.removesuffix("/one-click")


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


@pytest.mark.usefixtures("csrf_enabled")
def test_confirming_needs_the_pages_csrf_token(client, mailbox) -> None:
    services.subscribe("fan@example.org", now=utcnow(), language="en")
    db.session.commit()
    link = mailbox()[0].link("/notify/confirm/")
    assert client.post(link).status_code == 400
    assert not subscribers()[0].is_confirmed
    html = client.get(link).get_data(as_text=True)
    token = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post(link, data={"csrf_token": token}).status_code == 200
    assert subscribers()[0].is_confirmed
