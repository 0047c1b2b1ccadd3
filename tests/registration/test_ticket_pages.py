"""The ticket on the registration page and on its printable page: shown for a valid
ticket only, to the same people who may see the registration."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape as html_unescape

import pytest

from eventsite import templating
from eventsite.extensions import db
from eventsite.models import EventStatus, RegistrationStatus
from eventsite.registration import tickets

from .conftest import NOW


def text(response) -> str:
    return response.get_data(as_text=True)


def visible(page: str) -> str:
    """The page's words, tags removed and spaces collapsed."""
    return " ".join(html_unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture
def forum(make_event):
    return make_event(
        title="Science Forum",
        venue_name="Congress Centre",
        venue_address="Main street 1",
        city="Geneva",
        country="CH",
        timezone="Europe/Zurich",
    )


def test_a_confirmed_registration_shows_its_ticket_and_a_print_link(
    client, login, make_user, make_registration, forum
) -> None:
    user = make_user(name="Ada Lovelace")
    registration = make_registration(user, forum)
    login(user)

    page = text(client.get(f"/registrations/{registration.public_id}"))

    code = tickets.display_code(registration)
    assert page.count("<svg") == 1
    assert f"<title>Ticket {code}</title>" in page
    assert f'<p class="ticket-code">{code}</p>' in page
    assert f'href="/registrations/{registration.public_id}/ticket"' in page
    words = visible(page)
    assert "Your ticket" in words
    assert "Print ticket" in words
    assert "No valid ticket" not in words


def test_the_printable_ticket_has_every_field(
    client, login, make_user, make_registration, forum, app
) -> None:
    user = make_user(name="Ada Lovelace", affiliation="CERN")
    registration = make_registration(user, forum)
    login(user)

    response = client.get(f"/registrations/{registration.public_id}/ticket")

    assert response.status_code == 200
    page = text(response)
    assert 'class="ticket printable-ticket"' in page
    assert page.count("<svg") == 1
    words = visible(page)
    with app.test_request_context():
        when = f"{templating.event_dates(forum)}, {templating.event_times(forum)}"
    assert when.endswith(("CET", "CEST"))  # the time with its zone
    for field in (
        "Ada Lovelace",
        "CERN",
        "Science Forum",
        when,
        "Congress Centre, Main street 1, Geneva, Switzerland",
        tickets.display_code(registration),
    ):
        assert field in words
    assert "Print ticket" not in words  # the page is the print


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (RegistrationStatus.WAITLISTED, "on the waiting list and has no place"),
        (RegistrationStatus.PENDING, "awaits the organiser's approval"),
        (RegistrationStatus.CANCELLED, "This registration was cancelled."),
        (RegistrationStatus.REJECTED, "This registration was declined."),
    ],
)
def test_a_registration_without_a_place_says_there_is_no_ticket(
    client, login, make_user, make_registration, forum, status, reason
) -> None:
    user = make_user()
    registration = make_registration(user, forum, status)
    login(user)

    page = text(client.get(f"/registrations/{registration.public_id}"))
    assert "<svg" not in page
    assert tickets.display_code(registration) not in page
    words = visible(page).replace("’", "'")
    assert "No valid ticket:" in words
    assert reason in words

    response = client.get(f"/registrations/{registration.public_id}/ticket")
    assert response.status_code == 404
    assert "<svg" not in text(response)
    assert reason in visible(text(response)).replace("’", "'")


def test_a_held_place_has_no_ticket_until_the_address_is_confirmed(
    client, login, make_user, make_registration, forum
) -> None:
    user = make_user()
    registration = make_registration(user, forum)
    registration.hold_expires_at = NOW + timedelta(days=365)
    db.session.commit()
    login(user)

    page = text(client.get(f"/registrations/{registration.public_id}"))
    assert "<svg" not in page
    assert "has not confirmed their email address yet" in visible(page)
    assert client.get(f"/registrations/{registration.public_id}/ticket").status_code == 404


def test_a_cancelled_event_leaves_no_valid_ticket(
    client, login, make_user, make_registration, forum
) -> None:
    user = make_user()
    registration = make_registration(user, forum)
    forum.status = EventStatus.CANCELLED
    db.session.commit()
    login(user)

    page = text(client.get(f"/registrations/{registration.public_id}"))
    assert "<svg" not in page
    assert "This event was cancelled." in visible(page)
    assert client.get(f"/registrations/{registration.public_id}/ticket").status_code == 404


def test_another_persons_ticket_is_refused_without_saying_it_exists(
    client, login, make_user, make_registration, forum
) -> None:
    registration = make_registration(make_user(), forum)
    login(make_user())

    for path in ("", "/ticket"):
        response = client.get(f"/registrations/{registration.public_id}{path}")
        assert response.status_code == 404
        assert tickets.display_code(registration) not in text(response)
    assert client.get("/registrations/no-such-id/ticket").status_code == 404


def test_the_events_organisers_see_the_ticket(
    client, login, make_user, make_member, make_registration, forum
) -> None:
    registration = make_registration(make_user(name="Ada Lovelace"), forum)
    login(make_member(forum.organisation))

    response = client.get(f"/registrations/{registration.public_id}/ticket")

    assert response.status_code == 200
    assert "Ada Lovelace" in visible(text(response))
    detail = visible(text(client.get(f"/registrations/{registration.public_id}")))
    assert "Ticket " in detail and "Your ticket" not in detail


def test_the_ticket_page_asks_a_visitor_to_log_in(client, make_user, make_registration, forum):
    registration = make_registration(make_user(), forum)

    response = client.get(f"/registrations/{registration.public_id}/ticket")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
