"""The online join link is private: confirmed registrants find it on their registration
page, in their emails and in their personal calendar feed; no public page or feed of the
demonstration site holds any event's link."""

from __future__ import annotations

import re
from collections import deque
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select

from eventsite.demo import load
from eventsite.events import services as event_services
from eventsite.extensions import db
from eventsite.feeds import build
from eventsite.models import Event, EventFormat, EventStatus, Registration, RegistrationStatus
from eventsite.registration import notifications
from eventsite.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("smtp_sink")

LINK = re.compile(r"""(?:href|src)=["']([^"'#]+)""")
# Not pages of the public site, or pages that change things.
SKIPPED = ("/manage", "/account", "/admin", "/static/", "/login", "/logout", "/register")


def unfold(body: str) -> str:
    """Calendar lines are folded at 75 octets (RFC 5545 3.1)."""
    return body.replace("\r\n ", "").replace("\n ", "")


def public_seeds(events: list[Event]) -> list[str]:
    paths = [
        "/",
        "/events/",
        "/events/calendar",
        "/events/feed.atom",
        "/sitemap.xml",
        "/calendar.ics",
        "/notify",
        "/robots.txt",
        "/manifest.webmanifest",
    ]
    for event in events:
        paths += [
            f"/events/{event.slug}",
            f"/events/{event.slug}.ics",
            f"/events/{event.slug}/calendar.ics",
            f"/events/{event.slug}/share",
            f"/organisations/{event.organisation.slug}",
            f"/organisations/{event.organisation.slug}.ics",
        ]
        for topic in event.topics:
            paths += [f"/topics/{topic.slug}", f"/topics/{topic.slug}.ics"]
    return paths


def crawl(client, seeds: list[str], limit: int = 600) -> dict[str, str]:
    """Every page reachable from the seeds by the links the pages carry (same site, GET)."""
    seen: dict[str, str] = {}
    queue = deque(seeds)
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen or path.startswith(SKIPPED):
            continue
        response = client.get(path)
        body = response.get_data().decode("utf-8", errors="replace")  # icons too
        seen[path] = body
        assert response.status_code in (200, 301, 302, 304, 404), (path, response.status_code)
        for found in LINK.findall(body) + re.findall(r"<loc>([^<]+)</loc>", body):
            url = urlsplit(urljoin("http://localhost" + path, found))
            if url.netloc in ("localhost", "") and url.scheme in ("http", "https", ""):
                queue.append(url.path + (f"?{url.query}" if url.query else ""))
    return seen


def test_no_public_page_or_feed_of_the_demo_holds_a_join_link(app, client) -> None:
    now = utcnow()
    load.load_demo(now)
    db.session.commit()
    events = list(
        db.session.scalars(
            select(Event).where(Event.status.in_([EventStatus.PUBLISHED, EventStatus.CANCELLED]))
        )
    )
    links = {e.online_url for e in events if e.online_url}
    assert len(links) >= 5
    # The whole link, and without its scheme (a page may print it as text).
    secrets = links | {link.split("://", 1)[1] for link in links}

    pages = crawl(client, public_seeds(events))

    assert len(pages) > 60
    leaks = {
        path: secret for path, body in pages.items() for secret in secrets if secret in unfold(body)
    }
    assert leaks == {}
    online = next(e for e in events if e.format == EventFormat.ONLINE and e.is_published)
    assert "The link is sent to registered participants." in pages[f"/events/{online.slug}"]


def confirmed_registration_online(now) -> Registration:
    return db.session.scalars(
        select(Registration)
        .join(Event)
        .where(
            Registration.status == RegistrationStatus.CONFIRMED,
            Registration.hold_expires_at.is_(None),
            Event.online_url.is_not(None),
            Event.status == EventStatus.PUBLISHED,
            Event.starts_at > now,
        )
        .order_by(Registration.id)
    ).first()


def test_a_confirmed_registrant_sees_the_link_on_their_page_email_and_feed(
    app, client, login, mailbox
) -> None:
    now = utcnow()
    load.load_demo(now)
    db.session.commit()
    registration = confirmed_registration_online(now)
    link = registration.event.online_url

    login(registration.user)
    page = client.get(f"/registrations/{registration.public_id}").get_data(as_text=True)
    assert f'href="{link}"' in page

    notifications.notify(registration, "registration_confirmation", now)
    db.session.commit()
    [message] = mailbox()
    assert link in message.text
    assert link in message.html

    feed = unfold(build.build_personal_feed(registration.user).decode())
    assert link in feed


def test_waiting_pending_and_held_registrants_get_no_link(
    app, client, login, make_event, make_user, make_registration, mailbox
) -> None:
    event = make_event(format=EventFormat.ONLINE, online_url="https://meet.example.org/room-9")
    for status in (RegistrationStatus.WAITLISTED, RegistrationStatus.PENDING):
        registration = make_registration(make_user(), event, status=status)
        notifications.notify(registration, "registration_confirmation", utcnow())
        login(registration.user)
        page = client.get(f"/registrations/{registration.public_id}").get_data(as_text=True)
        assert "meet.example.org" not in page
    held = make_registration(make_user(), event)
    held.hold_expires_at = utcnow() + timedelta(hours=5)
    db.session.commit()
    login(held.user)
    assert "meet.example.org" not in client.get(f"/registrations/{held.public_id}").text
    db.session.commit()
    assert [m for m in mailbox() if "meet.example.org" in m.text] == []


def test_a_changed_link_is_emailed_to_confirmed_registrants_only(
    app, make_event, make_user, make_registration, mailbox
) -> None:
    event = make_event(format=EventFormat.ONLINE, online_url="https://meet.example.org/old")
    confirmed = make_registration(make_user(), event)
    waiting = make_registration(make_user(), event, status=RegistrationStatus.WAITLISTED)
    now = utcnow()

    event_services.update_event(event, {"online_url": "https://meet.example.org/new"}, now)
    db.session.commit()

    by_person = {m.rcpt_tos[0]: m for m in mailbox()}
    assert set(by_person) == {confirmed.user.email, waiting.user.email}
    assert "https://meet.example.org/new" in by_person[confirmed.user.email].text
    assert "The link to join online has changed" in by_person[confirmed.user.email].text
    assert "meet.example.org" not in by_person[waiting.user.email].text
    with pytest.raises(event_services.NotifyRefused):
        event_services.update_event(
            event, {"online_url": "https://meet.example.org/newer"}, now, notify=False
        )
