"""Read queries of the public event, topic and organisation pages, and the event page's
pieces."""

from __future__ import annotations

import functools
from datetime import date

from sqlalchemy import Select, bindparam, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.exceptions import NotFound

from eventsite import catalogue, database, timeutil
from eventsite.events.listing import MAX_SLUG_LENGTH, PUBLIC_STATUSES, public_events
from eventsite.events.models import (
    AgendaSession,
    Event,
    EventStatus,
    Organisation,
    SessionSpeaker,
    Speaker,
    Topic,
)
from eventsite.extensions import db


def usable_slug(slug: str) -> bool:
    """Whether a slug from an address can be looked up at all: PostgreSQL refuses NUL in
    a query, so such a slug is a 404 without one."""
    return bool(slug) and len(slug) <= MAX_SLUG_LENGTH and "\x00" not in slug


def get_public_event_or_404(
    slug: str,
    *,
    with_agenda: bool = True,
    with_topics: bool = True,
    with_organisation: bool = True,
) -> Event:
    """A published or cancelled event with everything its page shows, in a fixed number of
    queries; drafts and unknown slugs are 404. Without `with_agenda` its sessions and
    speakers are not read with it, without `with_topics` its topics, without
    `with_organisation` its organisation and pictures (the page keeps what shows them:
    fragments.py)."""
    if not usable_slug(slug):
        raise NotFound()
    stmt = _event_page_statement(True, with_agenda, with_topics, with_organisation)
    event = db.session.scalars(stmt, {"slug": slug}).first()
    if event is None:
        raise NotFound()
    return event


def get_public_event_alone_or_404(slug: str) -> Event:
    """A published or cancelled event's own row, none of what its page shows (one query):
    for a part of the page drawn on its own (the registration box of a kept page). Read
    straight from the driver where nothing was read before it, with the catalogue's stamp
    (`get_public_event_and_stamp_or_404`)."""
    if database.can_read_directly():
        return get_public_event_and_stamp_or_404(slug)
    return get_public_event_or_404(
        slug, with_agenda=False, with_topics=False, with_organisation=False
    )


def get_public_event_and_stamp_or_404(slug: str) -> Event:
    """A published or cancelled event's own row, and the catalogue's stamp with it in the
    same statement (kept as the request's: `catalogue.remember_request_stamp`): the event
    page's first read, before it knows which of its pieces are kept (one query less).
    Where the request has read the stamp already (a logged-in person's, with them), the
    row kept under it by an earlier request (`_event_rows`): no query at all then."""
    if not usable_slug(slug):
        raise NotFound()
    if database.can_read_directly():
        # Straight from the driver (`database.read_directly`): an anonymous visitor's page,
        # where nothing was read before it, or a logged-in person's, read with its stamp.
        stamp = catalogue.known_request_stamp()
        if stamp is not None:
            values = _event_rows.get(stamp, slug, functools.partial(_event_row_values, slug))
        else:
            rows = database.read_directly(
                "event-page", _event_row_and_stamp_statement, {"slug": slug}
            )
            values = None
            if rows:
                *row, version, changed_at = rows[0]
                values = tuple(row)
                catalogue.remember_request_stamp(version, changed_at)
        if values is None:
            raise NotFound()
        return database.adopt(Event, dict(zip(_event_row_keys(), values, strict=True)))
    row = db.session.execute(_event_and_stamp_statement(), {"slug": slug}).first()
    if row is None:
        raise NotFound()
    event, version, changed_at = row
    catalogue.remember_request_stamp(version, changed_at)
    return event


# A public event's own row as `get_public_event_and_stamp_or_404` reads it, by slug (None:
# no such event), kept while the catalogue's stamp stays the same (Event is tracked, and the
# places its row counts, which move with every registration, are not in it).
_event_rows: catalogue.VersionedMemo[tuple[object, ...] | None] = catalogue.VersionedMemo(2048)


def _event_row_values(slug: str) -> tuple[object, ...] | None:
    rows = database.read_directly("event-row", _event_row_statement, {"slug": slug})
    return tuple(rows[0]) if rows else None


@functools.cache
def _event_and_stamp_statement() -> Select:
    return _event_page_statement(True, False, False, False).add_columns(*catalogue.stamp_columns())


# The event's own columns a direct read gives, by attribute: all but the description (its
# pieces of the page are kept, and read it when drawn), the search text and the places the
# database counts (read under the event's lock only).
_LEFT_UNREAD = frozenset(
    {
        "description",
        "search_text",
        "places_confirmed",
        "places_pending",
        "places_waitlisted",
        "places_held",
    }
)


@functools.cache
def _event_row_keys() -> tuple[str, ...]:
    return tuple(
        prop.key for prop in sa_inspect(Event).column_attrs if prop.key not in _LEFT_UNREAD
    )


def _event_row_statement() -> Select:
    columns = [getattr(Event, key) for key in _event_row_keys()]
    return (
        select(*columns)
        .where(database.in_constants(Event.status, PUBLIC_STATUSES))
        .where(Event.slug == bindparam("slug"))
    )


def _event_row_and_stamp_statement() -> Select:
    return _event_row_statement().add_columns(*catalogue.stamp_columns())


def get_draft_or_404(slug: str) -> Event:
    """A draft with everything its page shows (the preview for its organisation's
    members); public events and unknown slugs are 404."""
    if not usable_slug(slug):
        raise NotFound()
    return db.first_or_404(_event_page_statement(False, True, True, True).params(slug=slug))


@functools.cache
def _event_page_statement(
    public: bool, with_agenda: bool, with_topics: bool, with_organisation: bool
) -> Select:
    """Built once per process and shape: building it cost as much as running it."""
    events = public_events() if public else select(Event).where(Event.status == EventStatus.DRAFT)
    stmt = events.where(Event.slug == bindparam("slug"))
    if with_organisation:
        stmt = stmt.options(
            joinedload(Event.organisation).joinedload(Organisation.logo_image),
            joinedload(Event.cover_image),
        )
    if with_topics:
        stmt = stmt.options(selectinload(Event.topics))
    if with_agenda:
        stmt = stmt.options(
            selectinload(Event.sessions)
            .selectinload(AgendaSession.speaker_links)
            .joinedload(SessionSpeaker.speaker)
            .joinedload(Speaker.photo_image)
        )
    return stmt


def get_topic_or_404(slug: str) -> Topic:
    if not usable_slug(slug):
        raise NotFound()
    return db.first_or_404(select(Topic).where(Topic.slug == slug))


def get_organisation_or_404(slug: str) -> Organisation:
    if not usable_slug(slug):
        raise NotFound()
    return db.first_or_404(
        select(Organisation)
        .where(Organisation.slug == slug)
        .options(joinedload(Organisation.logo_image))
    )


# --- the event page's pieces (pure) ----------------------------------------------------------


def agenda_by_day(event: Event) -> list[tuple[date, list[AgendaSession]]]:
    """Sessions grouped by their day in the event's own zone, in time order."""
    days: dict[date, list[AgendaSession]] = {}
    for session in sorted(event.sessions, key=lambda s: (s.starts_at, s.id or 0)):
        day = timeutil.to_local(session.starts_at, event.timezone).date()
        days.setdefault(day, []).append(session)
    return list(days.items())


def event_speakers(event: Event) -> list[Speaker]:
    """Everyone speaking at the event, once each, in order of first appearance."""
    seen: dict[int, Speaker] = {}
    for session in event.sessions:
        for speaker in session.speakers:
            seen.setdefault(speaker.id, speaker)
    return list(seen.values())
