"""Publishing the site's first event from the workspace (the home page turns into the
listing, notify-me subscribers hear about it) and the history an event page keeps."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from eventsite.announcements import services as announcements
from eventsite.extensions import db
from eventsite.models import AnnouncementSubscriber, Event, JoinedVia, Membership
from eventsite.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("smtp_sink")


def _local(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


def _event_data(title: str, **overrides: Any) -> dict[str, Any]:
    """A valid event form, dated from today so the event stays upcoming."""
    start = (utcnow() + timedelta(days=60)).replace(hour=9, minute=0, tzinfo=None)
    data = {
        "title": title,
        "kind": "forum",
        "summary": "Science and society.",
        "timezone": "UTC",
        "starts_local": _local(start),
        "ends_local": _local(start + timedelta(hours=8)),
        "venue_name": "KICC",
        "city": "Nairobi",
        "country": "KE",
        "format": "in_person",
        "capacity": "300",
        "submit": "Save",
    }
    data.update(overrides)
    return data


@pytest.fixture
def organiser(make_organisation, make_user, login):
    organisation = make_organisation(name="Science Org", slug="science-org")
    member = make_user(name="Olga Organiser")
    db.session.add(
        Membership(user=member, organisation=organisation, joined_via=JoinedVia.INVITATION)
    )
    db.session.commit()
    login(member)
    return organisation, member


# --- the first event --------------------------------------------------------------------------


@pytest.fixture(params=[False, True], ids=["without-page-cache", "with-page-cache"])
def app_config(app_config: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    # Production caches anonymous pages (the coming-soon page too): publishing must show.
    return {**app_config, "PAGE_CACHE_ENABLED": request.param}


def _subscribe(address: str, confirm: bool) -> None:
    now = utcnow()
    announcements.subscribe(address, now, language="en")
    if confirm:
        subscriber = db.session.scalar(
            select(AnnouncementSubscriber).where(AnnouncementSubscriber.email == address)
        )
        subscriber.confirmed_at = now
    db.session.commit()


def test_publishing_the_first_event_opens_the_listing_and_tells_subscribers(
    app, client, organiser, mailbox
) -> None:
    organisation, _member = organiser
    visitor = app.test_client()  # anonymous, no cookies: what the page cache serves
    home = visitor.get("/").get_data(as_text=True)
    assert "Coming soon" in home and 'action="/notify"' in home
    visitor.get("/")  # twice: with the cache on, the second one is a hit

    # Two subscribers confirm (one through the link in their email), one never does.
    visitor.post("/notify", data={"email": "fan@example.org"})
    (confirmation,) = mailbox()
    assert visitor.get(confirmation.link("/notify/confirm/")).status_code == 200  # asks
    assert visitor.post(confirmation.link("/notify/confirm/")).status_code == 200
    _subscribe("second@example.org", confirm=True)
    _subscribe("undecided@example.org", confirm=False)
    mailbox()  # the confirmation requests

    response = client.post(
        f"/manage/organisations/{organisation.id}/events/new", data=_event_data("Ocean Forum")
    )
    assert response.status_code == 302
    event = db.session.scalar(select(Event).where(Event.slug == "ocean-forum"))
    # A draft is not public: still coming soon, and nobody is told anything.
    assert "Coming soon" in app.test_client().get("/").get_data(as_text=True)
    assert mailbox() == []

    response = client.post(f"/manage/events/{event.id}/publish")
    assert response.status_code == 302
    assert "is published" in client.get(response.headers["Location"]).get_data(as_text=True)

    home = app.test_client().get("/")
    assert home.status_code == 200
    page = home.get_data(as_text=True)
    assert "Coming soon" not in page
    assert "Ocean Forum" in page and 'href="/events/ocean-forum"' in page

    messages = mailbox()
    assert sorted(m.rcpt_tos[0] for m in messages) == ["fan@example.org", "second@example.org"]
    for message in messages:
        assert message.subject == "Events are now announced on eventsite"
        assert message.link("/events/") == "/events/"
        assert "/notify/unsubscribe/" in message.text

    # The announcement is once in the site's life: the second event tells nobody.
    response = client.post(
        f"/manage/organisations/{organisation.id}/events/new", data=_event_data("River Forum")
    )
    second = db.session.scalar(select(Event).where(Event.slug == "river-forum"))
    client.post(f"/manage/events/{second.id}/publish")
    assert mailbox() == []
    assert "River Forum" in app.test_client().get("/").get_data(as_text=True)


# --- the history on the event page ------------------------------------------------------------


def _history(page: str) -> list[str]:
    """The History list's entries as text, newest first."""
    match = re.search(r'<ol class="audit-log">(.*?)</ol>', page, re.S)
    assert match, "no history list on the page"
    items = re.findall(r"<li>(.*?)</li>", match.group(1), re.S)
    return [" ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", item)).split()) for item in items]


def test_the_event_page_lists_who_did_what(app, client, organiser, make_user, login) -> None:
    organisation, member = organiser
    url = f"/manage/organisations/{organisation.id}/events/new"
    assert client.post(url, data=_event_data("Ocean Forum")).status_code == 302
    event = db.session.scalar(select(Event).where(Event.slug == "ocean-forum"))
    page = client.get(f"/manage/events/{event.id}").get_data(as_text=True)
    [created] = _history(page)
    assert created.startswith(tuple("0123456789"))  # the time comes first
    assert "Olga Organiser create" in created and "title: Ocean Forum" in created

    colleague = make_user(name="Carl Colleague")
    db.session.add(
        Membership(user=colleague, organisation=organisation, joined_via=JoinedVia.INVITATION)
    )
    db.session.commit()
    login(colleague)
    response = client.post(
        f"/manage/events/{event.id}/edit",
        data=_event_data("Ocean Forum 2027", capacity="250", slug="ocean-forum"),
    )
    assert response.status_code == 302
    client.post(f"/manage/events/{event.id}/publish")

    entries = _history(client.get(f"/manage/events/{event.id}").get_data(as_text=True))
    assert len(entries) == 3
    published, edited, created = entries
    assert "Carl Colleague publish" in published
    assert "Carl Colleague edit" in edited
    assert "title Ocean Forum → Ocean Forum 2027" in edited
    assert "capacity 300 → 250" in edited
    assert "Olga Organiser create" in created

    # The history outlives the account: a deleted one shows as "someone".
    db.session.delete(colleague)
    db.session.commit()
    login(member)
    entries = _history(client.get(f"/manage/events/{event.id}").get_data(as_text=True))
    assert "someone publish" in entries[0] and "someone edit" in entries[1]
