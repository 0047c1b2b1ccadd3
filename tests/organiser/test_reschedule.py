"""The edit form when an event moves: the agenda goes along, and the organiser is told how
many registrants a save will email before it does (and may keep quiet only about changes
that are not to the time or place)."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from eventsite import timeutil
from eventsite.extensions import db
from eventsite.mail.sender import deliver_due
from eventsite.models import Event, OutboxMessage, RegistrationStatus

from .conftest import submitted_event_form


def _form(client, event: Event, **changes: str | None) -> MultiDict:
    """The edit form as the browser posts it back, with `changes` (None: left out, as an
    unticked box is)."""
    data = submitted_event_form(client.get(f"/manage/events/{event.id}/edit").get_data(True))
    for name, value in changes.items():
        data.pop(name, None)
        if value is not None:
            data[name] = value
    return data


def _local(event: Event, value) -> str:
    return timeutil.to_local(value, event.timezone).strftime("%Y-%m-%dT%H:%M")


def _a_day_later(event: Event) -> dict[str, str]:
    return {
        "starts_local": _local(event, event.starts_at + timedelta(days=1)),
        "ends_local": _local(event, event.ends_at + timedelta(days=1)),
    }


@pytest.fixture
def registered(world, make_user, make_registration):
    """The world's event with three people to tell (pending, confirmed, waiting) and one
    who cancelled."""
    make_registration(make_user(name="Cleo"), world.event, RegistrationStatus.CONFIRMED)
    make_registration(make_user(name="Wim"), world.event, RegistrationStatus.WAITLISTED)
    make_registration(make_user(name="Xan"), world.event, RegistrationStatus.CANCELLED)
    return world


def _fresh(event: Event) -> Event:
    db.session.expire_all()
    return db.session.get(Event, event.id)


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_the_edit_form_offers_to_move_the_agenda(client, as_member) -> None:
    page = client.get(f"/manage/events/{as_member.event.id}/edit").get_data(as_text=True)
    assert re.search(r'<input [^>]*\bchecked id="move_agenda" name="move_agenda"', page)
    assert "Move the agenda with the event" in page
    # No agenda: nothing to move, no box.
    page = client.get(f"/manage/events/{as_member.draft.id}/edit").get_data(as_text=True)
    assert 'name="move_agenda"' not in page


def test_moving_an_event_asks_to_email_registrants_then_moves_it_with_its_agenda(
    smtp_sink, client, registered, login
) -> None:
    _controller, handler = smtp_sink
    login(registered.member)
    event, session = registered.event, registered.session
    starts, session_starts = event.starts_at, session.starts_at
    data = _form(client, event, **_a_day_later(event))

    response = client.post(f"/manage/events/{event.id}/edit", data=data)
    assert response.status_code == 200
    text = _text(response)
    assert "Saving will email 3 registered people about the new time." in text
    # The confirmation carries the number the organiser was shown.
    assert 'name="emails_confirmed" type="hidden" value="3"' in response.get_data(as_text=True)
    assert "Don't notify registrants" not in text  # a new time is always told
    # Nothing is saved yet.
    assert _fresh(event).starts_at == starts
    assert db.session.query(OutboxMessage).count() == 0

    data = submitted_event_form(response.get_data(as_text=True))  # "Confirm and save"
    response = client.post(f"/manage/events/{event.id}/edit", data=data)
    assert response.status_code == 302, _text(response)
    event = _fresh(event)
    assert event.starts_at == starts + timedelta(days=1)
    assert event.sessions[0].starts_at == session_starts + timedelta(days=1)
    assert deliver_due().sent == 3
    messages = [
        email.message_from_bytes(m.content, policy=email.policy.default) for m in handler.messages
    ]
    assert {str(m["Subject"]) for m in messages} == {f"Changed: {event.title}"}
    assert len({str(m["To"]) for m in messages}) == 3


def test_a_confirmation_for_another_number_of_people_asks_again(client, registered, login) -> None:
    login(registered.member)
    event = registered.event
    data = _form(client, event, venue_name="Palais des Nations", emails_confirmed="2")
    response = client.post(f"/manage/events/{event.id}/edit", data=data)
    assert response.status_code == 200
    assert "Saving will email 3 registered people about the new place." in _text(response)
    assert _fresh(event).venue_name == "Congress Centre"


def test_dont_notify_is_refused_for_a_new_time(client, registered, login) -> None:
    login(registered.member)
    event = registered.event
    starts = event.starts_at
    data = _form(client, event, skip_notification="y", **_a_day_later(event))
    response = client.post(f"/manage/events/{event.id}/edit", data=data)
    assert response.status_code == 422
    assert "Registrants are always told when the time or place changes" in _text(response)
    assert _fresh(event).starts_at == starts
    assert db.session.query(OutboxMessage).count() == 0


def test_dont_notify_is_honoured_for_a_new_title(smtp_sink, client, registered, login) -> None:
    _controller, handler = smtp_sink
    login(registered.member)
    event = registered.event
    data = _form(client, event, title="Quietly renamed")
    response = client.post(f"/manage/events/{event.id}/edit", data=data)
    assert response.status_code == 200
    text = _text(response)
    assert "Saving will email 3 registered people about the changes." in text
    assert "Don't notify registrants" in text  # offered: not a new time or place

    data["skip_notification"] = "y"
    response = client.post(f"/manage/events/{event.id}/edit", data=data)
    assert response.status_code == 302, _text(response)
    event = _fresh(event)
    assert event.title == "Quietly renamed" and event.revision == 1  # calendars update
    assert deliver_due().sent == 0 and handler.messages == []


def test_without_the_option_the_refusal_names_it(client, as_member) -> None:
    event = as_member.event
    starts = event.starts_at
    data = _form(client, event, move_agenda=None, emails_confirmed="1", **_a_day_later(event))
    response = client.post(f"/manage/events/{event.id}/edit", data=data)
    assert response.status_code == 422, _text(response)[-1500:]
    assert "tick “Move the agenda with the event”" in _text(response)
    assert _fresh(event).starts_at == starts


def test_a_save_that_emails_nobody_does_not_ask(client, as_member) -> None:
    event = as_member.draft
    data = _form(client, event, title="Renamed draft")
    response = client.post(f"/manage/events/{event.id}/edit", data=data)
    assert response.status_code == 302
    assert _fresh(event).title == "Renamed draft"
    # Capacity is not on calendars: nobody is emailed, nothing to confirm.
    data = _form(client, as_member.event, capacity="120")
    assert client.post(f"/manage/events/{as_member.event.id}/edit", data=data).status_code == 302


def test_a_tampered_confirmation_is_refused_with_nothing_stored(client, as_member) -> None:
    event = as_member.event
    data = _form(client, event, title="Renamed", emails_confirmed="9" * 40)
    response = client.post(f"/manage/events/{event.id}/edit", data=data)
    assert response.status_code == 422
    assert _fresh(event).title != "Renamed"
