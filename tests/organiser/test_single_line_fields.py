"""Line breaks and control characters in what an organiser types, sent as a raw POST: a
single-line field refuses them all, a field of several lines keeps only line breaks and
tabs. A clear 422 with the form's message, and nothing is written; the event services
say the same to the CLI and the API. What word processors paste (Word's soft line break
U+000B, BEL, BS, ESC, DEL) is mended instead, and reaches no calendar."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from eventsite.events import rules, services
from eventsite.extensions import db
from eventsite.models import (
    AgendaSession,
    Event,
    Organisation,
    OutboxMessage,
    Question,
    Speaker,
)
from eventsite.timeutil import utcnow

from ..ical.ics_check import check_export

ONE_LINE = "Please keep this on one line: no line breaks, tabs or invisible control characters."
NOT_PLAIN = "Please remove the invisible control characters from this text."
TABLES = (Event, AgendaSession, Speaker, Organisation, Question, OutboxMessage)


def snapshot() -> dict[str, Any]:
    db.session.expire_all()
    counts = {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in TABLES}
    titles = sorted(db.session.scalars(select(Event.title)))
    names = sorted(db.session.scalars(select(Organisation.name)))
    return {"counts": counts, "titles": titles, "names": names}


def _local(event: Event, moment) -> str:
    from eventsite import timeutil

    return timeutil.to_local(moment, event.timezone).strftime("%Y-%m-%dT%H:%M")


def _cases(world, event_form) -> dict[str, tuple[str, dict[str, Any]]]:
    event = world.event
    start = event.starts_at + timedelta(hours=3)
    session_times = {
        "starts_local": _local(event, start),
        "ends_local": _local(event, start + timedelta(hours=1)),
    }
    new_event = f"/manage/organisations/{world.organisation.id}/events/new"
    return {
        "event title": (new_event, event_form(title="Forum\r\nBcc: victim@example.org")),
        "event address": (new_event, event_form(slug="forum\nx")),
        "event venue": (new_event, event_form(venue_name="KICC\r\n")),
        "event venue address": (new_event, event_form(venue_address="Avenue\x001")),
        "event city": (new_event, event_form(city="Nairobi\x85")),
        "event online address": (
            new_event,
            event_form(format="online", online_url="https://x.example/\r\nBcc: y"),
        ),
        "edited event title": (
            f"/manage/events/{event.id}/edit",
            event_form(title="Edited\nX-Evil: yes"),
        ),
        "copy title": (
            f"/manage/events/{event.id}/duplicate",
            {"title": "Copy\r\nBcc: x", "starts_local": "2027-09-01T09:00"},
        ),
        "session title": (
            f"/manage/events/{event.id}/agenda",
            {"title": "Panel\r\nBcc: x", **session_times},
        ),
        "session room": (
            f"/manage/events/{event.id}/agenda",
            {"title": "Panel", "room": "Room\t2", **session_times},
        ),
        "speaker name": (
            f"/manage/events/{event.id}/sessions/{world.session.id}/speakers",
            {"speaker_id": "0", "name": "Ada\nLovelace"},
        ),
        "speaker honours": (
            f"/manage/events/{event.id}/sessions/{world.session.id}/speakers",
            {"speaker_id": "0", "name": "Ada", "honours": "FRS\r\nBcc: x"},
        ),
        "organisation name": (
            f"/manage/organisations/{world.organisation.id}",
            {"name": "Org\r\nBcc: x", "description": "", "website": ""},
        ),
        "question label": (
            f"/manage/events/{event.id}/questions",
            {"label": "Diet?\r\nBcc: x", "kind": "short_text", "submit": "Save question"},
        ),
        "email subject": (
            f"/manage/events/{event.id}/email",
            {"status": "confirmed", "subject": "Hi\r\nBcc: x", "body": "Hello", "send": "Send"},
        ),
    }


CASE_NAMES = [
    "event title",
    "event address",
    "event venue",
    "event venue address",
    "event city",
    "event online address",
    "edited event title",
    "copy title",
    "session title",
    "session room",
    "speaker name",
    "speaker honours",
    "organisation name",
    "question label",
    "email subject",
]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_line_breaks_in_single_line_fields_are_refused(client, as_member, event_form, case) -> None:
    url, data = _cases(as_member, event_form)[case]
    before = snapshot()
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert ONE_LINE in response.get_data(as_text=True)
    assert snapshot() == before


def test_a_new_organisation_name_is_one_line(client, world, login) -> None:
    login(world.admin)
    before = snapshot()
    response = client.post("/manage/organisations/new", data={"name": "Planet\r\nInstitute"})
    assert response.status_code == 422
    assert ONE_LINE in response.get_data(as_text=True)
    assert snapshot() == before


@pytest.mark.parametrize("field", ["summary", "description"])
def test_text_fields_of_several_lines_refuse_other_control_characters(
    client, as_member, event_form, field
) -> None:
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    before = snapshot()
    response = client.post(url, data=event_form(**{field: "Line one\nline two\x0e"}))
    assert response.status_code == 422
    assert NOT_PLAIN in response.get_data(as_text=True)
    assert snapshot() == before
    # Line breaks and tabs stay welcome.
    response = client.post(url, data=event_form(**{field: "Line one\r\n\tline two"}))
    assert response.status_code == 302


# --- pasted from a word processor: mended, and every calendar parses -------------------------

PASTED_TITLE = "Forum\x0bon water\x07 \x1b[1mnow\x7f\x08"
PASTED_TEXT = "First line\x0bsecond line\x07\r\nthird\x1b line\x7f"


def test_pasted_soft_breaks_and_control_characters_are_mended_everywhere(
    client, as_member, event_form
) -> None:
    event = as_member.event
    event.sessions.clear()  # the agenda would pin the dates the form sends
    db.session.commit()
    response = client.post(
        f"/manage/events/{event.id}/edit",
        data=event_form(
            title=PASTED_TITLE,
            slug=event.slug,
            summary=PASTED_TEXT,
            description=PASTED_TEXT,
            venue_name="Hall\x0bA",
            venue_address="Avenue\x07 1",
            city="Nair\x7fobi",
            emails_confirmed="1",  # the one registrant hears of the new place
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    session = client.post(
        f"/manage/events/{event.id}/agenda",
        data={
            "title": "Panel\x0bone\x1b",
            "room": "Room\x072",
            "description": PASTED_TEXT,
            "starts_local": "2027-05-12T10:00",
            "ends_local": "2027-05-12T11:00",
        },
    )
    assert session.status_code == 302, session.get_data(as_text=True)
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert event.title == "Forum on water [1mnow"
    assert event.summary == event.description == "First line\nsecond line\nthird line"
    assert (event.venue_name, event.venue_address, event.city) == ("Hall A", "Avenue 1", "Nairobi")
    [panel] = event.sessions
    assert (panel.title, panel.room) == ("Panel one", "Room2")
    assert panel.description == "First line\nsecond line\nthird line"
    # Every parser (icalendar, vobject) reads the public feed and the download; no control
    # character is left in them.
    for url in ("/calendar.ics", f"/events/{event.slug}.ics?sessions=1"):
        data = client.get(url).data
        assert not any(byte in data for byte in b"\x07\x08\x0b\x1b\x7f"), url
        parsed = check_export(data)
        assert str(parsed.ical_events()[f"event-{event.id}@localhost"]["SUMMARY"]) == event.title


def test_the_services_mend_pasted_text_too(world) -> None:
    event = services.create_event(
        world.organisation,
        _values(title=PASTED_TITLE, description=PASTED_TEXT, city="Gen\x08eva"),
        utcnow(),
    )
    assert (event.title, event.city) == ("Forum on water [1mnow", "Geneva")
    assert event.description == "First line\nsecond line\r\nthird line"
    copy = services.duplicate_event(event, "Copy\x0bof it\x07", event.starts_at, utcnow())
    assert copy.title == "Copy of it"


# --- the services say the same to the CLI and the API ---------------------------------------


def _values(**overrides: Any) -> dict[str, Any]:
    starts = utcnow() + timedelta(days=60)
    values: dict[str, Any] = {
        "title": "Forum",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=8),
        "timezone": "UTC",
        "kind": "forum",
        "format": "in_person",
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "Forum\r\nBcc: victim@example.org", ONE_LINE),
        ("city", "Geneva\n", ONE_LINE),
        ("venue_name", "Hall\x00", ONE_LINE),
        ("description", "Fine\nbut \x00", NOT_PLAIN),
    ],
)
def test_create_and_update_refuse_what_the_form_refuses(world, field, value, message) -> None:
    before = snapshot()
    with pytest.raises(rules.EventError, match=message) as refused:
        services.create_event(world.organisation, _values(**{field: value}), utcnow())
    assert refused.value.field == field
    db.session.rollback()
    with pytest.raises(rules.EventError, match=message):
        services.update_event(world.event, {field: value}, utcnow())
    db.session.rollback()
    assert snapshot() == before


def test_a_copy_title_is_one_line_for_the_service_too(world) -> None:
    with pytest.raises(rules.EventError, match=ONE_LINE):
        services.duplicate_event(world.event, "Copy\r\nBcc: x", world.event.starts_at, utcnow())
