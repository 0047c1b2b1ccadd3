"""What a listing card says about registering: the event page's rules and counts, in a few
words, for the whole page in one grouped query, and fresh from the page cache."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from eventsite.extensions import db
from eventsite.models import EventStatus
from eventsite.registration import services
from eventsite.registration.models import RegistrationStatus
from eventsite.timeutil import utcnow


def card_states(client, path: str = "/events/") -> dict[str, str]:
    """{event title: the card's registration words} for every card of the page."""
    page = client.get(path)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    states = {}
    for card in re.findall(r'<article class="event-card.*?</article>', body, flags=re.S):
        title = re.search(r'class="event-card-title"><a href="[^"]+">([^<]+)</a>', card)
        badge = re.search(r'class="badge badge-places badge-(\w+)">([^<]+)<', card)
        assert title
        states[html.unescape(title.group(1))] = html.unescape(badge.group(2)) if badge else ""
    return states


def box_words(client, event) -> str:
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    match = re.search(r'<section class="side-card registration-box".*?</section>', page, re.S)
    assert match
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split()))


def test_cards_say_places_left_waiting_list_full_opens_and_closed(
    client, make_event, make_user, make_registration
) -> None:
    few = make_event(title="Few places", capacity=8)
    for _ in range(2):
        make_registration(make_user(), few)
    make_registration(make_user(), few, status=RegistrationStatus.PENDING)  # takes a place
    make_registration(make_user(), few, status=RegistrationStatus.CANCELLED)  # does not
    waiting = make_event(title="Waiting", capacity=1, has_waiting_list=True)
    make_registration(make_user(), waiting)
    full = make_event(title="Full up", capacity=1)
    make_registration(make_user(), full)
    make_event(
        title="Later",
        starts_at=datetime(2031, 5, 1, 7, 0, tzinfo=UTC),
        registration_opens_at=datetime(2031, 3, 2, 23, 30, tzinfo=UTC),  # 2 March in UTC
        timezone="Europe/Zurich",
    )
    make_event(title="Closed", registration_closes_at=utcnow() - timedelta(hours=1))
    make_event(title="Many", capacity=500)
    make_event(title="No limit", capacity=None)
    make_event(title="Called off", status=EventStatus.CANCELLED)

    assert card_states(client) == {
        "Few places": "5 places left",
        "Waiting": "Waiting list",
        "Full up": "Full",
        "Later": "Opens March 3",  # 3 March in the event's zone, in English
        "Closed": "Registration closed",
        "Many": "500 places left",
        "No limit": "Registration open",
        "Called off": "",  # the card says Cancelled already
    }
    assert "Only 5 places left" in box_words(client, few)  # the same count on the event page


def test_one_place_left_is_singular(client, make_event, make_user, make_registration) -> None:
    event = make_event(title="Almost", capacity=2)
    make_registration(make_user(), event)
    assert card_states(client) == {"Almost": "1 place left"}


def test_a_cached_listing_follows_registrations_and_cancellations(
    client, make_event, make_user
) -> None:
    event = make_event(title="Small", capacity=2)
    assert card_states(client) == {"Small": "2 places left"}
    assert client.get("/events/").headers["Cache-Control"].startswith("public")

    first = services.register_attendee(make_user(), event, {}, utcnow())
    services.register_attendee(make_user(), event, {}, utcnow())
    db.session.commit()
    assert card_states(client) == {"Small": "Full"}
    assert card_states(client, "/") == {"Small": "Full"}

    services.cancel_registration(first, utcnow())
    db.session.commit()
    assert card_states(client) == {"Small": "1 place left"}
    assert card_states(client, f"/organisations/{event.organisation.slug}") == {
        "Small": "1 place left"
    }


def test_a_cached_listing_follows_a_change_committed_behind_a_later_one(
    client, make_event, make_user
) -> None:
    """A change is stamped with its request's clock, which may be behind the last stamp
    when it commits: a request that waited for a lock, or a server whose clock is a little
    behind another's. The listing cached meanwhile still gives way to it."""
    small = make_event(title="Small", capacity=2)
    other = make_event(title="Other", capacity=5)
    began = utcnow()
    first = services.register_attendee(make_user(), small, {}, began - timedelta(seconds=5))
    db.session.commit()
    # Another server registers someone for another event, and commits first.
    services.register_attendee(make_user(), other, {}, began + timedelta(seconds=1))
    db.session.commit()
    assert card_states(client) == {"Small": "1 place left", "Other": "4 places left"}

    services.cancel_registration(first, began)  # its request began before that commit
    db.session.commit()
    assert card_states(client) == {"Small": "2 places left", "Other": "4 places left"}
    assert card_states(client, "/") == {"Small": "2 places left", "Other": "4 places left"}


def test_cards_cost_one_query_for_the_whole_page(
    client, make_event, make_user, make_registration, count_queries
) -> None:
    def add(n: int) -> None:
        for _ in range(n):
            event = make_event(capacity=10)
            make_registration(make_user(), event)
            make_registration(make_user(), event, status=RegistrationStatus.PENDING)

    add(2)
    db.session.expire_all()
    with count_queries() as few:
        client.get("/events/")
    add(13)
    db.session.expire_all()
    with count_queries() as many:
        body = client.get("/events/").get_data(as_text=True)
    assert body.count("8 places left") == 15
    assert many.count == few.count, many.statements
    # The places the events' rows count, in one read; no registration counted.
    counted = [s for s in many.statements if "places_confirmed" in s]
    assert len(counted) == 1
    assert not any("GROUP BY registrations.event_id" in s for s in many.statements)


def test_cards_of_events_with_holds_count_the_holds_still_running(
    client, make_event, make_user, make_registration, count_queries
) -> None:
    """The row does not know when a hold ends: an event with holds is counted from its
    registrations (one more grouped read for all such events), a hold that ran out left out."""
    plain, held = make_event(title="Plain", capacity=10), make_event(title="Held", capacity=10)
    make_registration(make_user(), plain)
    now = utcnow()
    for ends in (now + timedelta(hours=1), now - timedelta(hours=1)):
        hold = make_registration(make_user(email_verified_at=None), held)
        hold.hold_expires_at = ends
    db.session.commit()
    with count_queries() as counter:
        assert card_states(client) == {"Plain": "9 places left", "Held": "9 places left"}
    grouped = [s for s in counter.statements if "GROUP BY registrations.event_id" in s]
    assert len(grouped) == 1
