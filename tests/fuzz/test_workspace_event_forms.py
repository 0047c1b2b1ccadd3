"""Fuzz the workspace's event and agenda forms: no 5xx, nothing half-written, and what is
accepted is stored whole (its pages render, titles stay on one line)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from eventsite.extensions import db
from eventsite.models import AgendaSession, Event, EventFormat, EventKind
from eventsite.organiser import forms

from ..organiser.conftest import event_form_data
from . import strategies as fz
from .harness import (
    FormTarget,
    Outcome,
    Prepared,
    Site,
    assert_one_line,
    assert_plain_text,
    last_id,
    rows_after,
    run_form_target,
)

pytestmark = pytest.mark.fuzz

KINDS = tuple(kind.value for kind in EventKind)
FORMATS = tuple(fmt.value for fmt in EventFormat)
TIMEZONES = ("Africa/Nairobi", "UTC", "Europe/Zurich", "America/St_Johns", "Pacific/Kiritimati")
COUNTRIES = ("", "KE", "CH")
AUDIT = "audit_entries"
CATALOGUE = "catalogue_versions"


def _fresh_event(site: Site, **overrides: Any) -> Event:
    n = site.next()
    return site.make_event(
        organisation=site.world.organisation, slug=f"fuzz-event-{n}", title=f"Fuzz {n}", **overrides
    )


# --- events ---------------------------------------------------------------------------------

EVENT_FIELDS = {
    "title": fz.text(),
    "slug": fz.slugs(),
    "kind": fz.choices(KINDS),
    "summary": fz.text(),
    "description": fz.text(),
    "timezone": fz.choices(TIMEZONES),
    "is_all_day": fz.booleans(),
    "starts_local": fz.local_datetimes(),
    "ends_local": fz.local_datetimes(),
    "topics": fz.numbers(),
    "venue_name": fz.text(),
    "venue_address": fz.text(),
    "city": fz.text(),
    "country": fz.choices(COUNTRIES),
    "latitude": fz.numbers(),
    "longitude": fz.numbers(),
    "format": fz.choices(FORMATS),
    "online_url": fz.urls(),
    "capacity": fz.numbers(),
    "registration_opens_local": fz.local_datetimes(),
    "registration_closes_local": fz.local_datetimes(),
    "edit_deadline_local": fz.local_datetimes(),
    "has_waiting_list": fz.booleans(),
    "requires_approval": fz.booleans(),
    "move_agenda": fz.booleans(),
    "skip_notification": fz.booleans(),
    "emails_confirmed": fz.numbers(),
    "confirmation_hold_hours": fz.numbers(),
    "reminder_hours": fz.numbers(),
    "preview": fz.buttons(),
    "submit": fz.buttons(),
}


def _event_whole(event: Event) -> None:
    for name in ("title", "slug", "venue_name", "venue_address", "city"):
        assert_one_line(getattr(event, name), f"the event's {name}")
    assert_plain_text(event.summary, "the event's summary")
    assert event.title == event.title.strip() and event.title
    assert event.starts_at < event.ends_at
    assert event.capacity is None or 0 <= event.capacity < 2**31
    assert 1 <= event.confirmation_hold_hours <= 168
    assert 0 <= event.reminder_hours <= 336
    if event.registration_opens_at and event.registration_closes_at:
        assert event.registration_opens_at < event.registration_closes_at


def _new_event(site: Site) -> Prepared:
    return Prepared(
        f"/manage/organisations/{site.world.organisation.id}/events/new",
        event_form_data(topics=str(site.topic.id)),
        user=site.world.member,
        objects={"last_event": last_id(Event)},
    )


def _new_event_whole(site: Site, outcome: Outcome) -> None:
    client = site.client(site.world.member)
    for event in rows_after(Event, outcome.prepared.objects["last_event"]):
        _event_whole(event)
        for page in (f"/manage/events/{event.id}/edit", f"/manage/events/{event.id}"):
            assert client.get(page).status_code == 200, page


def _edit_event(site: Site) -> Prepared:
    # Every other example edits a published event (its slug is fixed, registrants told).
    n = site.next()
    event = _fresh_event(site) if n % 2 else _fresh_event(site, status="draft", published_at=None)
    form = forms.EventForm.for_event(event, topic_choices=[(site.topic.id, site.topic.name)])
    base = {name: value for name, value in event_form_data().items() if name in EVENT_FIELDS}
    base.update(title=event.title, slug=event.slug, timezone=form.timezone.data)
    return Prepared(
        f"/manage/events/{event.id}/edit", base, user=site.world.member, objects={"event": event}
    )


def _edited_event_whole(site: Site, outcome: Outcome) -> None:
    event = db.session.get(Event, outcome.prepared.objects["event"].id)
    _event_whole(event)
    client = site.client(site.world.member)
    assert client.get(f"/manage/events/{event.id}/edit").status_code == 200
    if event.status != "draft":
        assert client.get(f"/events/{event.slug}").status_code == 200


def _event_action(url: str, base: dict[str, str] | None = None, **overrides: Any):
    """A fresh event for every example: the action can only happen once to each."""

    def prepare(site: Site) -> Prepared:
        event = _fresh_event(site, **overrides)
        return Prepared(
            url.format(event=event), dict(base or {}), site.world.member, {"event": event}
        )

    return prepare


def _duplicate(site: Site) -> Prepared:
    return Prepared(
        f"/manage/events/{site.world.event.id}/duplicate",
        {"title": "The copy", "starts_local": "2028-05-12T09:00", "submit": "Create"},
        user=site.world.member,
        objects={"last_event": last_id(Event)},
    )


def _duplicate_whole(site: Site, outcome: Outcome) -> None:
    for event in rows_after(Event, outcome.prepared.objects["last_event"]):
        _event_whole(event)


DRAFT = {"status": "draft", "published_at": None}
EVENT_WRITES = frozenset({"events", "event_topics", AUDIT, CATALOGUE, "outbox_messages"})

EVENT_TARGETS = [
    FormTarget(
        "organiser.new_event",
        _new_event,
        EVENT_FIELDS,
        writes=EVENT_WRITES,
        check=_new_event_whole,
    ),
    FormTarget(
        "organiser.edit_event",
        _edit_event,
        EVENT_FIELDS,
        writes=EVENT_WRITES,
        check=_edited_event_whole,
    ),
    FormTarget(
        "organiser.publish_event",
        _event_action("/manage/events/{event.id}/publish", {"submit": "Publish"}, **DRAFT),
        {"submit": fz.buttons()},
        writes=EVENT_WRITES | {"announcements"},
        budget=0.3,
    ),
    FormTarget(
        "organiser.cancel_event",
        _event_action("/manage/events/{event.id}/cancel", {"reason": "Storm", "submit": "Cancel"}),
        {"reason": fz.text(), "submit": fz.buttons()},
        writes=EVENT_WRITES | {"registrations"},
    ),
    FormTarget(
        "organiser.delete_event",
        _event_action("/manage/events/{event.id}/delete", {"submit": "Delete"}, **DRAFT),
        {"submit": fz.buttons()},
        writes=EVENT_WRITES,
        budget=0.3,
    ),
    FormTarget(
        "organiser.duplicate_event",
        _duplicate,
        {
            "title": fz.text(),
            "starts_local": fz.local_datetimes(),
            "rescheduled": fz.booleans(),
            "submit": fz.buttons(),
        },
        writes=EVENT_WRITES | {"agenda_sessions", "session_speakers", "registration_questions"},
        check=_duplicate_whole,
    ),
]


# --- the agenda -----------------------------------------------------------------------------

SESSION_FIELDS = {
    "title": fz.text(),
    "starts_local": fz.local_datetimes(),
    "ends_local": fz.local_datetimes(),
    "room": fz.text(),
    "description": fz.text(),
    "submit": fz.buttons(),
}
SPEAKER_FIELDS = {
    "speaker_id": fz.numbers(),
    "name": fz.text(),
    "affiliation": fz.text(),
    "country": fz.choices(COUNTRIES),
    "honours": fz.text(),
    "bio": fz.text(),
    "submit": fz.buttons(),
}
# A published event's agenda is in calendars: a change raises the revision and queues the
# registrants' update emails.
AGENDA_WRITES = frozenset(
    {
        "agenda_sessions",
        "session_speakers",
        "speakers",
        "events",
        AUDIT,
        CATALOGUE,
        "outbox_messages",
    }
)
DIRECTION = {"direction": fz.choices(("up", "down")), "submit": fz.buttons()}


def _session_form(site: Site, session: AgendaSession | None = None) -> dict[str, str]:
    event = site.world.event
    starts = event.starts_at + timedelta(hours=2)
    return {
        "title": "Keynote",
        "starts_local": forms.to_local_input(starts, event.timezone).strftime("%Y-%m-%dT%H:%M"),
        "ends_local": forms.to_local_input(starts + timedelta(hours=1), event.timezone).strftime(
            "%Y-%m-%dT%H:%M"
        ),
        "room": "Hall A",
        "description": "About *science*.",
        "submit": "Save",
    }


def _add_session(site: Site) -> Prepared:
    return Prepared(
        f"/manage/events/{site.world.event.id}/agenda",
        _session_form(site),
        user=site.world.member,
        objects={"last_session": last_id(AgendaSession)},
    )


def _session_whole(session: AgendaSession) -> None:
    assert_one_line(session.title, "the session's title")
    assert_one_line(session.room, "the session's room")
    assert session.starts_at < session.ends_at


def _added_session_whole(site: Site, outcome: Outcome) -> None:
    for session in rows_after(AgendaSession, outcome.prepared.objects["last_session"]):
        _session_whole(session)
    assert site.client(None).get(f"/events/{site.world.event.slug}").status_code == 200


def _edit_session(site: Site) -> Prepared:
    session = site.make_session(site.world.event, title=f"Session {site.next()}")
    return Prepared(
        f"/manage/events/{site.world.event.id}/sessions/{session.id}",
        _session_form(site),
        user=site.world.member,
        objects={"session": session},
    )


def _edited_session_whole(site: Site, outcome: Outcome) -> None:
    _session_whole(db.session.get(AgendaSession, outcome.prepared.objects["session"].id))
    assert site.client(None).get(f"/events/{site.world.event.slug}").status_code == 200


def _fresh_session_with_speaker(site: Site) -> tuple[AgendaSession, Any]:
    session = site.make_session(site.world.event, speakers=[site.world.speaker])
    return session, site.world.speaker


def _session_action(url: str):
    def prepare(site: Site) -> Prepared:
        session, speaker = _fresh_session_with_speaker(site)
        return Prepared(
            url.format(event=site.world.event, session=session, speaker=speaker),
            {"submit": "Go", "direction": "up"},
            user=site.world.member,
        )

    return prepare


def _add_speaker(site: Site) -> Prepared:
    session = site.make_session(site.world.event)
    return Prepared(
        f"/manage/events/{site.world.event.id}/sessions/{session.id}/speakers",
        {"speaker_id": "0", "name": "Grace Hopper", "affiliation": "Navy", "submit": "Add"},
        user=site.world.member,
        objects={"session": session},
    )


def _speakers_whole(site: Site, outcome: Outcome) -> None:
    session = db.session.get(AgendaSession, outcome.prepared.objects["session"].id)
    for link in session.speaker_links:
        assert_one_line(link.speaker.name, "the speaker's name")
        assert link.speaker.name.strip()
    assert site.client(None).get(f"/events/{site.world.event.slug}").status_code == 200


def _cover(site: Site) -> Prepared:
    return Prepared(
        f"/manage/events/{site.world.event.id}/cover",
        {"cover_alt": "Orange shapes", "submit": "Save"},
        user=site.world.member,
    )


def _speaker_photo(site: Site) -> Prepared:
    session, speaker = _fresh_session_with_speaker(site)
    return Prepared(
        f"/manage/events/{site.world.event.id}/sessions/{session.id}/speakers/{speaker.id}/photo",
        {"photo_alt": "A portrait", "submit": "Save"},
        user=site.world.member,
    )


def _pictures_whole(site: Site, _outcome: Outcome) -> None:
    assert site.client(None).get(f"/events/{site.world.event.slug}").status_code == 200


SESSION_URL = "/manage/events/{event.id}/sessions/{session.id}"
PICTURE_TARGETS = [
    FormTarget(
        "organiser.event_cover",
        _cover,
        {"cover": fz.files(), "cover_alt": fz.text(), "submit": fz.buttons()},
        writes=EVENT_WRITES | {"images"},
        check=_pictures_whole,
    ),
    FormTarget(
        "organiser.remove_event_cover",
        _session_action("/manage/events/{event.id}/cover/remove"),
        {"submit": fz.buttons()},
        writes=EVENT_WRITES | {"images"},
        budget=0.3,
    ),
    FormTarget(
        "organiser.speaker_photo",
        _speaker_photo,
        {"photo": fz.files(), "photo_alt": fz.text(), "submit": fz.buttons()},
        writes=AGENDA_WRITES | {"images"},
        check=_pictures_whole,
    ),
    FormTarget(
        "organiser.remove_speaker_photo",
        _session_action(SESSION_URL + "/speakers/{speaker.id}/photo/remove"),
        {"submit": fz.buttons()},
        writes=AGENDA_WRITES | {"images"},
        budget=0.3,
    ),
]
AGENDA_TARGETS = [
    FormTarget(
        "organiser.agenda",
        _add_session,
        SESSION_FIELDS,
        writes=AGENDA_WRITES,
        check=_added_session_whole,
    ),
    FormTarget(
        "organiser.edit_session",
        _edit_session,
        SESSION_FIELDS,
        writes=AGENDA_WRITES,
        check=_edited_session_whole,
    ),
    FormTarget(
        "organiser.move_session",
        _session_action(SESSION_URL + "/move"),
        DIRECTION,
        writes=AGENDA_WRITES,
        budget=0.3,
    ),
    FormTarget(
        "organiser.remove_session",
        _session_action(SESSION_URL + "/remove"),
        {"submit": fz.buttons()},
        writes=AGENDA_WRITES,
        budget=0.3,
    ),
    FormTarget(
        "organiser.add_speaker",
        _add_speaker,
        SPEAKER_FIELDS,
        writes=AGENDA_WRITES,
        check=_speakers_whole,
    ),
    FormTarget(
        "organiser.move_speaker",
        _session_action(SESSION_URL + "/speakers/{speaker.id}/move"),
        DIRECTION,
        writes=AGENDA_WRITES,
        budget=0.3,
    ),
    FormTarget(
        "organiser.remove_speaker",
        _session_action(SESSION_URL + "/speakers/{speaker.id}/remove"),
        {"submit": fz.buttons()},
        writes=AGENDA_WRITES,
        budget=0.3,
    ),
]


EVENT_FORM_TARGETS = EVENT_TARGETS + AGENDA_TARGETS + PICTURE_TARGETS


@pytest.mark.parametrize("target", EVENT_FORM_TARGETS)
def test_event_form_survives_hostile_input(site: Site, target: FormTarget) -> None:
    run_form_target(site, target)
