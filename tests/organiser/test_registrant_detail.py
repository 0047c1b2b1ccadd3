"""From the registrants table an organiser opens one registration and reads its answers."""

from __future__ import annotations

from datetime import UTC, datetime

from eventsite.extensions import db


def test_a_registrants_name_leads_to_their_registration_and_answers(client, world, login) -> None:
    registration, question = world.registration, world.question
    login(world.attendee)
    edited = client.post(
        f"/registrations/{registration.public_id}/edit", data={question.field_name: "Ocean Lab"}
    )
    assert edited.status_code == 302

    login(world.member)
    table = client.get(f"/manage/events/{world.event.id}/registrants").get_data(as_text=True)
    link = f'href="/registrations/{registration.public_id}">{world.attendee.name}</a>'
    assert link in table
    page = client.get(f"/registrations/{registration.public_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Affiliation" in html and "Ocean Lab" in html

    # Another organisation's member may not open it.
    login(world.other_member)
    assert client.get(f"/registrations/{registration.public_id}").status_code == 404


def test_the_registered_column_names_the_events_time_zone(client, as_member) -> None:
    world = as_member
    world.registration.created_at = datetime(2027, 1, 15, 9, 30, tzinfo=UTC)
    world.event.timezone = "Europe/Zurich"
    db.session.commit()
    html = client.get(f"/manage/events/{world.event.id}/registrants").get_data(as_text=True)
    assert "15/01/2027, 10:30 CET" in html
