"""Agenda rules: sessions and speakers, and the one revision per save calendars need."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventsite.events import agenda
from eventsite.events.models import AgendaSession, Event, EventStatus, Speaker
from eventsite.extensions import db
from eventsite.registration.models import RegistrationStatus

from ..conftest import NOW
from ..ical.ics_check import check_export

pytestmark = pytest.mark.usefixtures("smtp_sink")


def _sequence(client, event: Event) -> int:
    """The SEQUENCE of the event in its .ics."""
    parsed = check_export(client.get(f"/events/{event.slug}.ics").data)
    return parsed.ical_events()[f"event-{event.id}@localhost"].decoded("SEQUENCE")


def _two_sessions(event: Event, make_session) -> tuple[AgendaSession, AgendaSession]:
    first = make_session(event, title="Opening")  # +1h, one hour long
    second = make_session(
        event,
        title="Keynote",
        starts_at=first.ends_at + timedelta(minutes=30),
        ends_at=first.ends_at + timedelta(minutes=120),
    )
    return first, second


def test_moving_a_session_raises_the_revision_once_and_the_ics_sequence(
    client, make_event, make_session, make_user, make_registration, mailbox
) -> None:
    event = make_event()
    _first, second = _two_sessions(event, make_session)
    make_registration(make_user(), event, RegistrationStatus.CONFIRMED)
    assert _sequence(client, event) == 0

    agenda.move_session(second, -1, NOW)
    db.session.commit()

    event = db.session.get(Event, event.id)
    assert event.revision == 1  # two sessions moved, one save
    assert [s.title for s in event.sessions] == ["Keynote", "Opening"]
    assert _sequence(client, event) == 1
    [received] = mailbox()
    assert str(received.message["Subject"]) == f"Changed: {event.title}"


def test_every_agenda_change_calendars_show_raises_the_revision(
    make_event, make_session, make_speaker
) -> None:
    event = make_event()
    ada, grace = make_speaker("Ada"), make_speaker("Grace")
    session = agenda.add_session(
        event,
        {
            "title": "Panel",
            "starts_at": event.starts_at,
            "ends_at": event.starts_at + timedelta(hours=1),
            "room": "",
            "description": "",
        },
        NOW,
    )
    assert event.revision == 1
    values = {
        "title": "Panel",
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "room": "Room 2",
    }
    assert agenda.update_session(session, values, NOW) == {"room": ("", "Room 2")}
    assert event.revision == 2
    assert agenda.update_session(session, values, NOW) == {}  # nothing changed: no save
    assert event.revision == 2
    agenda.add_speaker(session, NOW, speaker=ada)
    agenda.add_speaker(session, NOW, speaker=grace)
    agenda.move_speaker(session, grace.id, -1, NOW)
    assert [s.name for s in session.speakers] == ["Grace", "Ada"]
    assert agenda.remove_speaker(session, ada.id, NOW) is ada
    assert event.revision == 6
    agenda.remove_session(session, NOW)
    db.session.commit()
    assert event.revision == 7
    assert db.session.get(Speaker, ada.id) is not None  # they may speak elsewhere


def test_a_drafts_agenda_changes_keep_revision_zero(make_event, make_session) -> None:
    draft = make_event(status=EventStatus.DRAFT, published_at=None)
    _first, second = _two_sessions(draft, make_session)
    agenda.move_session(second, -1, NOW)
    agenda.remove_session(second, NOW)
    assert draft.revision == 0


def test_sessions_stay_inside_the_event(make_event) -> None:
    event = make_event()
    before = {"title": "Early", "room": "", "description": ""}
    with pytest.raises(agenda.AgendaError, match="within the event") as err:
        agenda.add_session(
            event,
            before
            | {"starts_at": event.starts_at - timedelta(hours=1), "ends_at": event.starts_at},
            NOW,
        )
    assert err.value.field == "starts_local"
    with pytest.raises(agenda.AgendaError, match="end must come after"):
        agenda.add_session(
            event, before | {"starts_at": event.ends_at, "ends_at": event.starts_at}, NOW
        )
    assert event.revision == 0


def test_a_session_cannot_move_past_either_end(make_event, make_session) -> None:
    event = make_event()
    first, second = _two_sessions(event, make_session)
    with pytest.raises(agenda.AgendaError, match="cannot move further"):
        agenda.move_session(first, -1, NOW)
    with pytest.raises(agenda.AgendaError, match="cannot move further"):
        agenda.move_session(second, 1, NOW)
    assert event.revision == 0


def test_a_speaker_is_named_once_per_session(make_event, make_session, make_speaker) -> None:
    session = make_session(make_event())
    ada = make_speaker("Ada")
    agenda.add_speaker(session, NOW, speaker=ada)
    with pytest.raises(agenda.AgendaError, match="already speaks"):
        agenda.add_speaker(session, NOW, speaker=ada)
    with pytest.raises(agenda.AgendaError, match="Pick a speaker"):
        agenda.add_speaker(session, NOW, new_speaker={"name": ""})
    new = agenda.add_speaker(session, NOW, new_speaker={"name": "Marie Curie"})
    assert [s.name for s in session.speakers] == ["Ada", "Marie Curie"]
    assert new.id is not None
