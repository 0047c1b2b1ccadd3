"""Rules for changing events: create, edit, publish, cancel, duplicate, delete a draft; the
search text; the registration state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from eventsite.events import rules, services
from eventsite.events.models import (
    AgendaSession,
    Event,
    EventStatus,
    SessionSpeaker,
)
from eventsite.extensions import db
from eventsite.registration.models import Question, QuestionKind, RegistrationStatus

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # as in tests/conftest.py


# --- create and edit -----------------------------------------------------------------------


def _values(**overrides):
    return {
        "title": "World Forum",
        "starts_at": NOW + timedelta(days=10),
        "ends_at": NOW + timedelta(days=11),
    } | overrides


def test_create_event_makes_a_draft_with_a_free_slug(make_organisation, make_event) -> None:
    organisation = make_organisation()
    make_event(slug="world-forum")
    event = services.create_event(organisation, _values(), NOW)
    assert (event.slug, event.status, event.revision) == ("world-forum-2", "draft", 0)
    assert event.created_at == event.updated_at == NOW
    with pytest.raises(rules.EventError) as err:
        services.create_event(organisation, _values(slug="world-forum"), NOW)
    assert err.value.field == "slug"
    assert "already uses" in str(err.value)


def test_the_database_refuses_a_duplicate_slug(make_event) -> None:
    from sqlalchemy.exc import IntegrityError

    event = make_event()
    copy = Event(
        organisation_id=event.organisation_id,
        title="Copy",
        slug=event.slug,
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=1),
    )
    db.session.add(copy)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_address_of_a_published_event_cannot_change(make_event) -> None:
    with pytest.raises(rules.EventError) as err:
        services.update_event(make_event(), {"slug": "new-address"}, NOW)
    assert err.value.field == "slug"
    draft = make_event(status=EventStatus.DRAFT, published_at=None)
    services.update_event(draft, {"slug": "Better Address"}, NOW)
    assert draft.slug == "better-address"


def test_update_event_returns_what_changed(make_event) -> None:
    event = make_event(title="Old title", capacity=10)
    update = services.update_event(event, {"title": "New title", "capacity": 10}, NOW)
    assert update.changes == {"title": ("Old title", "New title")}
    assert update.revision_raised and event.revision == 1
    assert event.updated_at == NOW
    assert not services.update_event(event, {"title": "New title"}, NOW)


def test_moving_a_draft_does_not_raise_the_revision(make_event) -> None:
    draft = make_event(status=EventStatus.DRAFT, published_at=None)
    one_day = timedelta(days=1)
    changes = {"starts_at": draft.starts_at + one_day, "ends_at": draft.ends_at + one_day}
    assert not services.update_event(draft, changes, NOW).revision_raised
    assert draft.revision == 0


def test_the_event_cannot_shrink_around_its_sessions(make_event, make_session) -> None:
    event = make_event()
    session = make_session(event, title="Opening")
    with pytest.raises(rules.EventError) as err:
        services.update_event(event, {"ends_at": session.starts_at - timedelta(minutes=1)}, NOW)
    assert "Opening" in str(err.value)


def test_registration_must_close_before_the_event_ends(make_event) -> None:
    event = make_event()
    with pytest.raises(rules.EventError) as err:
        services.update_event(
            event, {"registration_closes_at": event.ends_at + timedelta(hours=1)}, NOW
        )
    assert err.value.field == "registration_closes_at"


# --- duplicate and delete -------------------------------------------------------------------


def test_duplicate_event_moves_the_agenda_and_copies_active_questions(
    make_event, make_session, make_speaker
) -> None:
    event = make_event()
    make_session(event, speakers=[make_speaker("Ada")], title="Keynote")
    db.session.add_all(
        [
            Question(event=event, label="Affiliation", kind=QuestionKind.SHORT_TEXT),
            Question(event=event, label="Gone", kind=QuestionKind.SHORT_TEXT, is_active=False),
        ]
    )
    db.session.commit()
    year = timedelta(days=365)
    copy = services.duplicate_event(event, "Next year", event.starts_at + year, NOW)
    db.session.commit()
    assert (copy.slug, copy.status, copy.revision) == ("next-year", "draft", 0)
    [session] = copy.sessions
    assert session.starts_at == event.sessions[0].starts_at + year
    assert [s.name for s in session.speakers] == ["Ada"]
    labels = db.session.scalars(select(Question.label).where(Question.event_id == copy.id))
    assert list(labels) == ["Affiliation"]


def test_a_draft_people_registered_for_is_not_deleted(
    make_event, make_user, make_registration
) -> None:
    draft = make_event(status=EventStatus.DRAFT, published_at=None)
    make_registration(make_user(), draft, RegistrationStatus.CONFIRMED)
    assert "registered" in services.draft_deletion_refusal(draft)
    with pytest.raises(services.EventStateError, match="registered"):
        services.delete_draft(draft)
    assert "cancelled instead" in services.draft_deletion_refusal(make_event())
    empty = make_event(status=EventStatus.DRAFT, published_at=None)
    assert services.draft_deletion_refusal(empty) is None
    services.delete_draft(empty)
    db.session.commit()
    assert db.session.get(Event, empty.id) is None


# --- the search text stays current -----------------------------------------------------------


def stored_search_text(event: Event) -> str:
    db.session.expire_all()
    return db.session.scalar(select(Event.search_text).where(Event.id == event.id))


def test_search_text_follows_every_change(
    make_event, make_session, make_speaker, make_organisation
) -> None:
    event = make_event(
        title="Open Science", summary="Trust", description="Cooperation",
        organisation=make_organisation(name="Guild"), venue_name="", city="", country=None,
    )  # fmt: skip
    assert stored_search_text(event) == "open science trust cooperation guild"

    ada = make_speaker("Ada Lovelace")
    session = make_session(event, speakers=[ada], title="Keynote")
    assert "ada lovelace" in stored_search_text(event)
    assert "keynote" in stored_search_text(event)

    ada.name = "Augusta Ada King"
    db.session.commit()
    assert "augusta ada king" in stored_search_text(event)
    assert "lovelace" not in stored_search_text(event)

    grace = make_speaker("Grace Hopper")
    session = db.session.get(AgendaSession, session.id)
    session.speaker_links.append(SessionSpeaker(speaker=grace, position=1))
    db.session.commit()
    assert "grace hopper" in stored_search_text(event)

    event = db.session.get(Event, event.id)
    event.title = "Closed Science"
    db.session.commit()
    assert stored_search_text(event).startswith("closed science")

    db.session.delete(db.session.get(AgendaSession, session.id))
    db.session.commit()
    assert stored_search_text(event) == "closed science trust cooperation guild"


def test_refresh_search_text_by_hand(
    make_event, make_session, make_speaker, make_organisation
) -> None:
    event = make_event(
        title="A", summary="B", description="C", organisation=make_organisation(name="Guild"),
        venue_name="Hall", city="Nairobi", country="KE",
    )  # fmt: skip
    make_session(event, speakers=[make_speaker("Marie Curie")], title="Radium")
    event.search_text = ""
    services.refresh_search_text(event)
    assert event.search_text == "a b c guild hall nairobi kenya kenia quênia radium marie curie"


# --- state changes ---------------------------------------------------------------------------


def test_publish_event_turns_a_draft_public(make_event) -> None:
    event = make_event(status=EventStatus.DRAFT, published_at=None)
    services.publish_event(event, NOW)
    db.session.commit()
    assert event.status == EventStatus.PUBLISHED
    assert event.published_at == NOW
    with pytest.raises(services.EventStateError):
        services.publish_event(event, NOW)


def test_cancel_event_keeps_it_public_and_bumps_the_revision(make_event) -> None:
    event = make_event(revision=3)
    services.cancel_event(event, "  The venue flooded.  ", NOW)
    db.session.commit()
    assert event.status == EventStatus.CANCELLED
    assert event.cancellation_reason == "The venue flooded."
    assert event.revision == 4
    assert event.is_public
    with pytest.raises(services.EventStateError, match="already cancelled"):
        services.cancel_event(event, "again", NOW)


def test_cancel_event_needs_a_reason(make_event) -> None:
    event = make_event()
    with pytest.raises(rules.EventError, match="Say why") as err:
        services.cancel_event(event, "   ", NOW)
    assert err.value.field == "reason"
    assert event.status == EventStatus.PUBLISHED


def test_cancel_event_refuses_drafts_and_ended_events(make_event) -> None:
    with pytest.raises(services.EventStateError):
        services.cancel_event(make_event(status=EventStatus.DRAFT), "", NOW)
    ended = make_event(starts_at=NOW - timedelta(days=2))
    with pytest.raises(services.EventStateError, match="ended"):
        services.cancel_event(ended, "", NOW)
