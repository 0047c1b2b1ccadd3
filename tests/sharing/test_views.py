"""Send this to a friend: the form on the event page, the message that arrives, the abuse cases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import EventShare, EventStatus, OutboxMessage

pytestmark = pytest.mark.usefixtures("smtp_sink")


def share(client, slug, **fields):
    data = {"email": "friend@example.org", "name": "Ada", "note": "", **fields}
    return client.post(f"/events/{slug}/share", data=data)


def shares() -> int:
    return db.session.scalar(select(func.count()).select_from(EventShare))


def test_event_page_links_the_share_form_and_has_copy_button_and_mailto(client, make_event) -> None:
    event = make_event(title="Climate Forum", slug="climate-forum")
    response = client.get("/events/climate-forum")
    html = response.get_data(as_text=True)
    assert 'href="/events/climate-forum/share">Or let us send it for you</a>' in html
    # No form on the page itself: no CSRF token, so no cookie for a mere visit.
    assert "csrf_token" not in html
    assert "Set-Cookie" not in response.headers
    assert 'data-copy-link="http://localhost/events/climate-forum"' in html
    assert "mailto:?subject=Climate%20Forum" in html
    assert "share.js" in html
    assert event.title in html


def test_the_share_page_shows_the_form_with_the_event(client, make_event) -> None:
    make_event(title="Climate Forum", slug="climate-forum")
    response = client.get("/events/climate-forum/share")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Send this to a friend</h1>" in html
    assert 'action="/events/climate-forum/share"' in html
    assert 'href="/events/climate-forum">Climate Forum</a>' in html
    for label in ("Your friend's email address", "Your name", "A short note (optional)"):
        assert label in html
    assert 'aria-invalid="None"' not in html  # no attribute from a missing value


def test_a_friend_receives_title_dates_and_link(client, make_event, mailbox) -> None:
    event = make_event(title="Climate Forum", slug="climate-forum")
    response = share(
        client, event.slug, email="Friend@Example.org", note="See you there!\nBring a hat."
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/events/climate-forum"

    (message,) = mailbox()
    assert message.rcpt_tos == ["friend@example.org"]
    assert message.subject == "An event you might like: Climate Forum"
    assert "no-reply@eventsite.test" in str(message.message["From"])
    assert "Ada" not in str(message.message["From"])
    assert "Climate Forum" in message.text
    assert "http://localhost/events/climate-forum" in message.text
    assert "http://localhost/events/climate-forum" in message.html
    from eventsite.templating import event_dates

    assert event_dates(event) in message.text
    assert "See you there!\nBring a hat." in message.text
    assert "Ada thought you might like this event" in message.text


def test_the_note_and_name_are_plain_text_in_the_html_part(client, make_event, mailbox) -> None:
    event = make_event()
    response = share(client, event.slug, name="<b>Ada</b>", note='<a href="x">click</a> <script>')
    assert response.status_code == 302
    (message,) = mailbox()
    assert "<script>" not in message.html
    assert "<b>Ada</b>" not in message.html
    assert "&lt;b&gt;Ada&lt;/b&gt;" in message.html
    assert "&lt;a href=" in message.html


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "friend@example.org\r\nBcc: victim@example.org"}, "Enter a"),
        ({"email": "friend@example.org, victim@example.org"}, "Enter a"),
        ({"email": "<friend@example.org>"}, "Enter a"),
        ({"name": "Ada\r\nBcc: victim@example.org"}, "one line"),
        ({"name": "Ada\nSubject: win"}, "one line"),
        ({"note": "Hi\x00there"}, "invisible control characters"),
        ({"note": "visit https://spam.example now"}, "web and email addresses"),
        ({"note": "go to www.spam.example"}, "web and email addresses"),
        ({"note": "spam.com is great"}, "web and email addresses"),
        ({"name": "spam@example.org"}, "web and email addresses"),
        ({"note": "x" * 501}, "500"),
        ({"name": ""}, "required"),
    ],
)
def test_header_injection_and_spam_in_every_field_are_refused(
    client, make_event, mailbox, fields, message
) -> None:
    event = make_event()
    response = share(client, event.slug, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert mailbox() == []


def test_multiline_note_cannot_become_headers(client, make_event, mailbox) -> None:
    event = make_event()
    note = "Hello\r\nX-Evil: yes\r\nSubject: changed\r\n\r\nbody"
    assert share(client, event.slug, note=note).status_code == 302
    (message,) = mailbox()
    assert message.rcpt_tos == ["friend@example.org"]
    assert message.message["X-Evil"] is None
    assert message.subject.startswith("An event you might like")
    assert "X-Evil: yes\nSubject: changed" in message.text  # just words in the body


def test_drafts_and_unknown_events_cannot_be_shared(client, make_event) -> None:
    draft = make_event(status=EventStatus.DRAFT, published_at=None)
    assert share(client, draft.slug).status_code == 404
    assert share(client, "no-such-event").status_code == 404


def test_a_recipient_gets_at_most_three_suggestions_a_day(client, make_event, mailbox) -> None:
    event = make_event()
    for _ in range(3):
        assert share(client, event.slug).status_code == 302
    response = share(client, event.slug, email="FRIEND@example.org")
    assert response.status_code == 422
    assert "enough suggestions today" in response.get_data(as_text=True)
    assert len(mailbox()) == 3
    assert share(client, event.slug, email="other@example.org").status_code == 302


def test_anonymous_and_logged_in_visitors_can_share(client, make_event, make_user, login) -> None:
    event = make_event()
    assert share(client, event.slug).status_code == 302
    user = make_user(name="Grace")
    login(user)
    assert "Grace" in client.get(f"/events/{event.slug}/share").get_data(as_text=True)
    assert share(client, event.slug, email="b@example.org").status_code == 302
    recorded = db.session.scalars(select(EventShare).order_by(EventShare.id)).all()
    assert [r.sender_user_id for r in recorded] == [None, user.id]
    # The address itself is not stored with the share.
    assert all("example.org" not in r.recipient_digest for r in recorded)


@pytest.mark.usefixtures("rate_limits_on")
def test_sharing_is_rate_limited_per_ip(client, make_event) -> None:
    event = make_event()
    assert share(client, event.slug, email="a@example.org").status_code == 302
    assert share(client, event.slug, email="b@example.org").status_code == 302
    response = share(client, event.slug, email="c@example.org")
    assert response.status_code == 429
    assert "too many times" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


@pytest.mark.usefixtures("rate_limits_on")
def test_sharing_is_rate_limited_per_account_whatever_the_ip(app, make_event, make_user) -> None:
    event = make_event()
    user = make_user()
    first, second = app.test_client(), app.test_client()
    for browser in (first, second):
        with browser.session_transaction() as session:
            session["_user_id"] = user.get_id()
    assert (
        first.post(
            f"/events/{event.slug}/share",
            data={"email": "a@example.org", "name": "A"},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        ).status_code
        == 302
    )
    response = second.post(
        f"/events/{event.slug}/share",
        data={"email": "b@example.org", "name": "A"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert response.status_code == 429
    # Anonymous visitors from another address are not held by that account's limit.
    anonymous = app.test_client()
    assert (
        anonymous.post(
            f"/events/{event.slug}/share",
            data={"email": "c@example.org", "name": "A"},
            environ_base={"REMOTE_ADDR": "10.0.0.3"},
        ).status_code
        == 302
    )


@pytest.mark.usefixtures("csrf_enabled")
def test_sharing_without_a_csrf_token_is_refused(client, make_event) -> None:
    event = make_event()
    assert share(client, event.slug).status_code == 400
    assert shares() == 0
