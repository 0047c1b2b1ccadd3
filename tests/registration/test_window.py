"""One registration window, as every page sees it: the event page's box, the registration
form (GET and POST) and the service say the same thing about the same event."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import Registration
from eventsite.registration import queries, rules, services
from eventsite.timeutil import utcnow


def box_words(client, event) -> str:
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    match = re.search(r'<section class="side-card registration-box".*?</section>', page, flags=re.S)
    assert match, "no registration box on the page"
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split()))


def registrations(event) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count()).select_from(Registration).where(Registration.event_id == event.id)
    )


def test_an_event_that_started_an_hour_ago_still_takes_registrations_everywhere(
    client, login, make_event, make_user
) -> None:
    """No closing time: registration is open until the event ends (a forum's second day)."""
    now = utcnow()
    event = make_event(capacity=50, starts_at=now - timedelta(hours=1))
    assert event.registration_closes_at is None and event.ends_at > now

    assert rules.window(event, now).is_open
    assert rules.registration_state(event, now, queries.count_places(event, now)).can_register

    words = box_words(client, event)
    assert "50 places Register" in words
    assert f'href="/events/{event.slug}/register"' in client.get(f"/events/{event.slug}").text

    user = make_user()
    login(user)
    form = client.get(f"/events/{event.slug}/register")
    assert form.status_code == 200
    assert "Registration is not possible right now" not in form.text
    assert 'class="card registration-form"' in form.text

    response = client.post(f"/events/{event.slug}/register", data={})
    assert response.status_code == 302
    assert registrations(event) == 1
    assert "You are registered" in client.get(response.headers["Location"]).text


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"registration_closes_at": "an hour ago"}, "Registration closed"),
        ({"registration_opens_at": "in a day"}, "Registration opens on"),
        ({"starts_at": "two days ago"}, "This event has ended"),
    ],
)
def test_a_closed_window_is_closed_everywhere_with_the_same_reason(
    client, login, make_event, make_user, overrides, reason
) -> None:
    now = utcnow()
    moments = {
        "an hour ago": now - timedelta(hours=1),
        "in a day": now + timedelta(days=1),
        "two days ago": now - timedelta(days=2),
    }
    event = make_event(capacity=50, **{k: moments[v] for k, v in overrides.items()})

    window = rules.window(event, now)
    assert not window.is_open and window.reason.startswith(reason)
    assert reason in box_words(client, event)

    user = make_user()
    login(user)
    form = client.get(f"/events/{event.slug}/register")
    assert form.status_code == 200
    assert reason in html.unescape(form.text)
    assert "Registration is not possible right now" in form.text

    refused = client.post(f"/events/{event.slug}/register", data={})
    assert refused.status_code == 422
    assert reason in html.unescape(refused.text)
    with pytest.raises(rules.RegistrationError, match=reason):
        services.register_attendee(make_user(), event, {}, now)
    db.session.rollback()
    assert registrations(event) == 0
