"""A logged-in request reads the catalogue's stamp with the person (`accounts.auth`), and an
event's own row is then kept by it (`events.queries.get_public_event_and_stamp_or_404`):
a registration reads no event, and every organiser's change shows on the very next
request."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import Event, EventStatus
from eventsite.registration.models import Registration, RegistrationStatus


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "PAGE_CACHE_ENABLED": False}


def _event_reads(statements: list[str]) -> list[str]:
    """The reads of an event by its address (not the registration's lock, by its id)."""
    return [s for s in statements if "FROM events" in s and "events.slug =" in s]


def _stamp_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM catalogue_versions" in s and "FROM users" not in s]


def test_a_logged_in_registration_reads_no_event_once_kept(
    client, login, make_event, make_user, count_queries
) -> None:
    event = make_event(capacity=5)
    event_id, url = event.id, f"/events/{event.slug}/register"
    login(make_user())
    assert client.post(url).status_code == 302  # reads the event, and keeps it

    login(make_user())
    db.session.remove()
    with count_queries() as counter:
        response = client.post(url)

    assert response.status_code == 302
    assert _event_reads(counter.statements) == []
    assert _stamp_reads(counter.statements) == []  # read with the person
    assert any("FROM users" in s and "catalogue_versions" in s for s in counter.statements)
    registered = db.session.scalar(
        select(func.count()).select_from(Registration).where(Registration.event_id == event_id)
    )
    assert registered == 2


def test_an_organisers_change_shows_on_the_next_logged_in_request(
    client, login, make_event, make_user
) -> None:
    event = make_event(title="Before the change", capacity=1)
    event_id, slug = event.id, event.slug
    login(make_user())
    db.session.remove()  # each request as on a server: nothing of the test's session shared
    form = client.get(f"/events/{slug}/register").get_data(as_text=True)  # kept from here on
    assert client.post(f"/events/{slug}/register").status_code == 302  # the one place

    event = db.session.get(Event, event_id)
    event.title = "After the change"
    event.capacity = 2
    db.session.commit()
    db.session.remove()
    login(make_user())
    changed = client.get(f"/events/{slug}/register").get_data(as_text=True)
    second = client.post(f"/events/{slug}/register")

    assert "Register for <bdi>Before the change</bdi>" in form
    assert "Register for <bdi>After the change</bdi>" in changed
    assert "Before the change" not in changed
    assert second.status_code == 302
    statuses = db.session.scalars(select(Registration.status).order_by(Registration.id)).all()
    assert statuses == [RegistrationStatus.CONFIRMED, RegistrationStatus.CONFIRMED]


def test_an_event_taken_back_to_draft_is_gone_for_the_next_logged_in_person(
    client, login, make_event, make_user
) -> None:
    event = make_event(capacity=5)
    slug = event.slug
    login(make_user())
    assert client.post(f"/events/{slug}/register").status_code == 302

    event.status = EventStatus.DRAFT
    db.session.commit()
    db.session.remove()
    login(make_user())
    refused = client.post(f"/events/{slug}/register")

    assert refused.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1
