"""The catalogue version moves with every change a calendar shows; the plain-text
description follows every edit of the Markdown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, select, update

from eventsite import catalogue
from eventsite.events import search_text
from eventsite.extensions import db
from eventsite.models import (
    AgendaSession,
    CatalogueVersion,
    Event,
    Organisation,
    SessionSpeaker,
    Topic,
)
from eventsite.registration.models import RegistrationStatus


def _version() -> int:
    return catalogue.current(db.session).version


@pytest.fixture
def bumps() -> Callable[[Callable[[], object]], int]:
    """bumps(change) -> how far the catalogue version moved when `change` was committed."""

    def measure(change: Callable[[], object]) -> int:
        before = _version()
        change()
        db.session.commit()
        return _version() - before

    return measure


def test_an_empty_catalogue_has_version_zero(app):
    assert catalogue.current(db.session) == catalogue.Stamp(0, catalogue.EMPTY)


def test_events_and_their_topics_move_the_version(bumps, make_event, make_topic):
    event = make_event()
    assert _version() >= 1
    stamp = catalogue.current(db.session)
    assert stamp.changed_at >= event.updated_at

    def rename():
        event.title = "Renamed"

    assert bumps(rename) == 1
    oceans = make_topic("Oceans")

    def tag():
        event.topics.append(oceans)  # only event_topics changes

    assert bumps(tag) == 1

    def untag():
        event.topics.remove(oceans)

    assert bumps(untag) == 1

    def delete_event():
        db.session.delete(event)

    assert bumps(delete_event) == 1
    assert catalogue.current(db.session).changed_at >= stamp.changed_at


def test_agenda_speakers_topics_and_organisations_move_the_version(
    bumps, make_event, make_session, make_speaker, make_topic
):
    event = make_event()
    ada = make_speaker("Ada Example")
    grace = make_speaker("Grace Example")
    session = make_session(event, speakers=[ada])
    topic = make_topic("Climate")
    organisation: Organisation = event.organisation

    def add_session():
        db.session.add(
            AgendaSession(
                event=event,
                title="Closing",
                starts_at=event.starts_at + timedelta(hours=3),
                ends_at=event.starts_at + timedelta(hours=4),
            )
        )

    def edit_session():
        session.room = "Room 9"

    def add_speaker_link():
        session.speaker_links.append(SessionSpeaker(speaker=grace, position=1))

    def rename_speaker():
        ada.name = "Ada Lovelace"

    def rename_topic():
        topic.name = "Climate and oceans"

    def rename_organisation():
        organisation.name = "A new name"

    def delete_session():
        db.session.delete(session)

    for change in (
        add_session,
        edit_session,
        add_speaker_link,
        rename_speaker,
        rename_topic,
        rename_organisation,
        delete_session,
    ):
        assert bumps(change) == 1, change.__name__


def test_bulk_statements_through_the_session_move_the_version(bumps, make_event):
    event = make_event()
    assert bumps(lambda: db.session.execute(update(Event).values(city="Bern"))) == 1
    assert (
        bumps(lambda: db.session.execute(update(Topic).where(Topic.id == -1).values(name="x"))) == 1
    )
    assert bumps(lambda: db.session.execute(delete(Event).where(Event.id == event.id))) == 1


def test_changes_no_calendar_shows_leave_the_version(
    bumps, make_event, make_user, make_registration
):
    event = make_event()
    organisation = event.organisation
    user = make_user()

    def new_token():
        organisation.calendar_token = "a-secret-token"

    assert bumps(new_token) == 0
    assert bumps(lambda: make_registration(user, event, RegistrationStatus.CONFIRMED)) == 0

    def touch_without_change():
        event.title = event.title

    assert bumps(touch_without_change) == 0


def test_the_version_row_is_one_row(app, make_event):
    make_event()
    make_event()
    rows = db.session.scalars(select(CatalogueVersion)).all()
    assert [row.id for row in rows] == [1]
    assert rows[0].version >= 2


def test_description_text_follows_the_markdown(app, make_event):
    event = make_event(
        description="## Programme\n\nTalks by **experts** and [a link](https://x.org)."
    )
    assert event.description_text == "Programme\nTalks by experts and a link."
    event.title = "Another title"
    db.session.commit()
    assert event.description_text == "Programme\nTalks by experts and a link."
    event.description = "*Changed*"
    db.session.commit()
    db.session.expire(event)
    assert event.description_text == "Changed"
    event.description = ""
    db.session.commit()
    assert event.description_text == ""


def test_backfill_fills_rows_written_around_the_orm(app, make_event):
    template = make_event()
    table = Event.__table__
    row = {c.name: getattr(template, c.key) for c in table.columns if c.name != "id"}
    row.update(slug="bulk-loaded", description="Some *Markdown*", description_text="")
    db.session.execute(insert(table), [row])
    db.session.commit()
    assert search_text.backfill_description_text(db.session) == 1
    db.session.commit()
    text = db.session.scalar(select(Event.description_text).where(Event.slug == "bulk-loaded"))
    assert text == "Some Markdown"
    assert search_text.backfill_description_text(db.session) == 0


def test_a_request_that_changes_the_catalogue_forgets_the_stamp_it_read(app, make_event) -> None:
    """What is kept by the stamp (`known_request_stamp`) is not looked up under the stamp
    read before the request's own change: after it, the request knows no stamp until it
    reads one again, in its transaction, with its change."""
    event = make_event()
    db.session.commit()
    with app.test_request_context("/workspace/", method="POST"):
        before = catalogue.request_stamp()
        assert catalogue.known_request_stamp() == before
        event.title = "Renamed Forum"
        db.session.flush()  # moves the version
        assert catalogue.known_request_stamp() is None
        after = catalogue.request_stamp()
        assert after.version == before.version + 1
        assert catalogue.known_request_stamp() == after
        db.session.rollback()
        catalogue.request_stamp()
        event.title = "Renamed again"  # not written yet: its flush may move the version
        assert catalogue.known_request_stamp() is None
        db.session.rollback()
    assert catalogue.known_request_stamp() is None  # outside a request: never kept
