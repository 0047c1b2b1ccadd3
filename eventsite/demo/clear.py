"""`flask demo clear`: remove exactly what `flask demo load` created, and nothing else.

Demo rows are known by their slugs (organisations, topics, events), names (speakers) and the
attendees' email domain. An organisation, topic or speaker that someone's own event still
uses is kept. Flushes, never commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, func, select

from eventsite.accounts.models import User
from eventsite.demo import data
from eventsite.events.models import (
    AgendaSession,
    Event,
    SessionSpeaker,
    Speaker,
    Topic,
    event_topics,
)
from eventsite.extensions import db
from eventsite.images import services as images
from eventsite.images.models import Image
from eventsite.organisations.models import Organisation
from eventsite.registration.models import Registration


def demo_counts() -> dict[str, int]:
    """How many demo rows exist now (by their known slugs and names)."""
    demo = data.demo()

    def count(model: Any, column: Any, values: tuple[str, ...]) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(column.in_(values)))

    return {
        "organisations": count(Organisation, Organisation.slug, demo.organisation_slugs),
        "topics": count(Topic, Topic.slug, demo.topic_slugs),
        "events": count(Event, Event.slug, demo.event_slugs),
        "speakers": count(Speaker, Speaker.name, demo.speaker_names),
    }


def clear_demo() -> int:
    """Delete the demo attendees, then the programme; return how many organisations, topics,
    events and speakers went."""
    clear_attendees()
    return clear_programme()


def clear_attendees() -> int:
    """Remove the demo attendees (their registrations go with them). Questions and
    registrations on demo events go when `clear_programme()` deletes the events."""
    attendees = User.email.like(f"%@{data.demo().attendees.domain}")
    db.session.execute(delete(Registration).where(Registration.user_id.in_(
        select(User.id).where(attendees)
    )))  # fmt: skip
    result = db.session.execute(delete(User).where(attendees))
    return int(getattr(result, "rowcount", 0) or 0)


def clear_programme() -> int:
    """Delete the demo events (with their agendas, topic links and registrations: ON DELETE
    CASCADE), then every demo organisation, topic and speaker that nothing else uses."""
    demo = data.demo()
    session = db.session
    session.flush()
    demo_org_ids = select(Organisation.id).where(Organisation.slug.in_(demo.organisation_slugs))
    event_ids = set(
        session.scalars(
            select(Event.id).where(
                Event.slug.in_(demo.event_slugs), Event.organisation_id.in_(demo_org_ids)
            )
        )
    )
    # Loaded copies of rows the database will remove by cascade leave the session with them
    # (looked at before the delete, while expired attributes can still be refreshed).
    loaded = list(session.identity_map.values())
    gone_sessions = {
        o.id for o in loaded if isinstance(o, AgendaSession) and o.event_id in event_ids
    }
    for obj in loaded:
        gone = (isinstance(obj, AgendaSession) and obj.id in gone_sessions) or (
            isinstance(obj, SessionSpeaker) and obj.session_id in gone_sessions
        )
        if gone and obj in session:  # expunging a session takes its speaker links along
            session.expunge(obj)
    pictures = _picture_ids(event_ids, demo)
    fetch = {"synchronize_session": "fetch"}
    removed = session.execute(
        delete(Event).where(Event.id.in_(event_ids)), execution_options=fetch
    ).rowcount
    removed += session.execute(
        delete(Organisation).where(
            Organisation.slug.in_(demo.organisation_slugs),
            ~exists().where(Event.organisation_id == Organisation.id),
        ),
        execution_options=fetch,
    ).rowcount
    removed += session.execute(
        delete(Topic).where(
            Topic.slug.in_(demo.topic_slugs),
            ~exists().where(event_topics.c.topic_id == Topic.id),
        ),
        execution_options=fetch,
    ).rowcount
    removed += session.execute(
        delete(Speaker).where(
            Speaker.name.in_(demo.speaker_names),
            ~exists().where(SessionSpeaker.speaker_id == Speaker.id),
        ),
        execution_options=fetch,
    ).rowcount
    _discard_unused_pictures(pictures)
    return removed


def _picture_ids(event_ids: set[int], demo: data.Demo) -> set[int]:
    """The pictures of what clear_programme() may delete."""
    return {
        image_id
        for stmt in (
            select(Event.cover_image_id).where(Event.id.in_(event_ids)),
            select(Organisation.logo_image_id).where(
                Organisation.slug.in_(demo.organisation_slugs)
            ),
            select(Speaker.photo_image_id).where(Speaker.name.in_(demo.speaker_names)),
        )
        for image_id in db.session.scalars(stmt)
        if image_id is not None
    }


def _discard_unused_pictures(candidates: set[int]) -> None:
    """Each picture has one owner: those whose owner was deleted go, with their files."""
    if not candidates:
        return
    used = set()
    for column in (Event.cover_image_id, Organisation.logo_image_id, Speaker.photo_image_id):
        used |= set(db.session.scalars(select(column).where(column.in_(candidates))))
    for image in db.session.scalars(select(Image).where(Image.id.in_(candidates - used))):
        images.discard_image(image)
