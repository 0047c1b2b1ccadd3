"""The agenda in the workspace: sessions inside the event, reordering, speakers in order."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import AgendaSession, AuditEntry, Event, SessionSpeaker, Speaker


def _local(event: Event, value) -> str:
    return value.astimezone(ZoneInfo(event.timezone)).strftime("%Y-%m-%dT%H:%M")


def _titles(event_id: int) -> list[str]:
    db.session.expire_all()
    return [s.title for s in db.session.get(Event, event_id).sessions]


def test_adding_a_session_inside_the_event(client, as_member) -> None:
    event = as_member.event
    start = event.starts_at + timedelta(hours=3)
    response = client.post(
        f"/manage/events/{event.id}/agenda",
        data={
            "title": "Panel on water",
            "starts_local": _local(event, start),
            "ends_local": _local(event, start + timedelta(minutes=90)),
            "room": "Room 2",
        },
    )
    assert response.status_code == 302
    session = db.session.scalar(
        select(AgendaSession).where(AgendaSession.title == "Panel on water")
    )
    assert session.starts_at == start and session.room == "Room 2"
    html = client.get(f"/manage/events/{event.id}/agenda").get_data(as_text=True)
    assert "Panel on water" in html


def test_sessions_outside_the_event_or_ending_first_are_refused(client, as_member) -> None:
    event = as_member.event
    url = f"/manage/events/{event.id}/agenda"
    before = event.starts_at - timedelta(days=1)
    response = client.post(
        url,
        data={
            "title": "Too early",
            "starts_local": _local(event, before),
            "ends_local": _local(event, before + timedelta(hours=1)),
        },
    )
    assert response.status_code == 422
    assert "within the event" in response.get_data(as_text=True)
    start = event.starts_at + timedelta(hours=2)
    response = client.post(
        url,
        data={
            "title": "Backwards",
            "starts_local": _local(event, start),
            "ends_local": _local(event, start - timedelta(minutes=30)),
        },
    )
    assert response.status_code == 422
    assert "The end must come after the start." in response.get_data(as_text=True)


def test_moving_a_session_up_swaps_the_time_slots(client, as_member, make_session) -> None:
    event = as_member.event
    first = as_member.session  # starts +1h, one hour long
    second = make_session(
        event,
        title="Keynote",
        starts_at=first.ends_at + timedelta(minutes=30),
        ends_at=first.ends_at + timedelta(minutes=120),
    )
    assert _titles(event.id) == ["Opening", "Keynote"]
    response = client.post(
        f"/manage/events/{event.id}/sessions/{second.id}/move", data={"direction": "up"}
    )
    assert response.status_code == 302
    assert _titles(event.id) == ["Keynote", "Opening"]
    # Calendars show the agenda: one save, one new revision, logged with the move.
    assert db.session.get(Event, event.id).revision == 1
    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.event_id == event.id, AuditEntry.action == "agenda")
    )
    assert entry.details == {"moved": "Keynote", "direction": "up"}
    keynote = db.session.get(AgendaSession, second.id)
    opening = db.session.get(AgendaSession, first.id)
    assert keynote.starts_at == event.starts_at + timedelta(hours=1)
    assert keynote.ends_at - keynote.starts_at == timedelta(minutes=90)
    # The 30-minute break stays between them, and the opening keeps its hour.
    assert opening.starts_at == keynote.ends_at + timedelta(minutes=30)
    assert opening.ends_at - opening.starts_at == timedelta(hours=1)
    # The first session cannot move further up.
    response = client.post(
        f"/manage/events/{event.id}/sessions/{second.id}/move",
        data={"direction": "up"},
        follow_redirects=True,
    )
    assert "cannot move further" in response.get_data(as_text=True)


def test_removing_a_session(client, as_member) -> None:
    event = as_member.event
    response = client.post(f"/manage/events/{event.id}/sessions/{as_member.session.id}/remove")
    assert response.status_code == 302
    assert _titles(event.id) == []
    # The speaker stays (they may speak elsewhere).
    assert db.session.get(Speaker, as_member.speaker.id) is not None


def test_editing_a_session(client, as_member) -> None:
    event, session = as_member.event, as_member.session
    url = f"/manage/events/{event.id}/sessions/{session.id}"
    assert "Opening" in client.get(url).get_data(as_text=True)
    response = client.post(
        url,
        data={
            "title": "Opening ceremony",
            "starts_local": _local(event, session.starts_at),
            "ends_local": _local(event, session.ends_at + timedelta(minutes=15)),
        },
    )
    assert response.status_code == 302
    assert _titles(event.id) == ["Opening ceremony"]


def test_speakers_new_and_existing_in_their_order(client, as_member, make_speaker) -> None:
    event, session = as_member.event, as_member.session
    existing = make_speaker("Grace Existing", affiliation="Navy")
    base = f"/manage/events/{event.id}/sessions/{session.id}/speakers"
    assert client.post(base, data={"speaker_id": str(existing.id)}).status_code == 302
    response = client.post(
        base, data={"speaker_id": "0", "name": "New Person", "affiliation": "Lab", "country": "KE"}
    )
    assert response.status_code == 302
    new = db.session.scalar(select(Speaker).where(Speaker.name == "New Person"))
    assert new.country == "KE"

    def order() -> list[str]:
        db.session.expire_all()
        links = db.session.scalars(
            select(SessionSpeaker)
            .where(SessionSpeaker.session_id == session.id)
            .order_by(SessionSpeaker.position)
        ).all()
        return [link.speaker.name for link in links]

    assert order() == [as_member.speaker.name, "Grace Existing", "New Person"]
    response = client.post(f"{base}/{new.id}/move", data={"direction": "up"})
    assert response.status_code == 302
    assert order() == [as_member.speaker.name, "New Person", "Grace Existing"]
    assert client.post(f"{base}/{as_member.speaker.id}/remove").status_code == 302
    assert order() == ["New Person", "Grace Existing"]
    positions = db.session.scalars(
        select(SessionSpeaker.position)
        .where(SessionSpeaker.session_id == session.id)
        .order_by(SessionSpeaker.position)
    ).all()
    assert positions == [0, 1]
    # The same speaker twice in one session is refused with words.
    response = client.post(base, data={"speaker_id": str(existing.id)})
    assert response.status_code == 422
    assert "already speaks" in response.get_data(as_text=True)
    # Speaker names are searchable in the listing.
    db.session.expire_all()
    assert "new person" in db.session.get(Event, event.id).search_text


def test_a_speaker_form_without_a_speaker_is_refused(client, as_member) -> None:
    event, session = as_member.event, as_member.session
    response = client.post(
        f"/manage/events/{event.id}/sessions/{session.id}/speakers", data={"speaker_id": "0"}
    )
    assert response.status_code == 422
    assert "Pick a speaker" in response.get_data(as_text=True)
