"""The lower-cased text the listing's free-text search looks in, and the plain-text
description calendars show, both kept current on every flush.

The search text holds what and who (title, summary, description, sessions, speakers, the
organisation's name) and where (venue, city, and the country's name in each of
COUNTRY_NAME_LOCALES, so "Kenya", "Kenia" and "KE"-coded events meet): one indexed column,
so every word of a search is one index lookup (migrations 0004 and 0014)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from itertools import chain

from babel import Locale
from sqlalchemy import bindparam, select, update
from sqlalchemy import event as sa_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from eventsite.events.models import AgendaSession, Event, SessionSpeaker, Speaker
from eventsite.markup import markdown_to_text
from eventsite.organisations.models import Organisation

EVENT_FIELDS = (
    "title",
    "summary",
    "description",
    "sessions",
    "venue_name",
    "city",
    "country",
    "organisation",
    "organisation_id",
)
SESSION_FIELDS = ("title", "speaker_links", "event")

# The languages a country is found by: English (the site's) and the languages its readers
# most often write in. A reader's locale added to the site belongs here too, followed by
# a rebuild of the stored text (as migration 0014 does).
COUNTRY_NAME_LOCALES = ("en", "fr", "de", "es", "it", "pt", "nl", "sw")


def country_names(code: str | None) -> list[str]:
    """The country's names in COUNTRY_NAME_LOCALES, each once ("Kenya", "Kenia"…)."""
    return list(_country_names(code.upper())) if code else []


@lru_cache(maxsize=512)
def _country_names(code: str) -> tuple[str, ...]:
    names = (Locale.parse(locale).territories.get(code) for locale in COUNTRY_NAME_LOCALES)
    return tuple(dict.fromkeys(name for name in names if name))


def build(event: Event, excluded: frozenset[int] | set[int] = frozenset()) -> str:
    """Title, summary, description, session titles and speaker names, the organisation's
    name, venue, city and the country's names, lower-cased. `excluded` holds the id() of
    objects being deleted in this flush (left out)."""
    organisation = event.organisation
    parts = [
        event.title or "",
        event.summary or "",
        event.description or "",
        organisation.name if organisation is not None else "",
        event.venue_name or "",
        event.city or "",
        *country_names(event.country),
    ]
    for session in event.sessions:
        if id(session) in excluded:
            continue
        parts.append(session.title or "")
        for link in session.speaker_links:
            if id(link) in excluded or link.speaker is None:
                continue
            parts.append(link.speaker.name or "")
    return " ".join(part for part in parts if part).replace("\x00", "").lower()


def refresh(event: Event) -> None:
    event.search_text = build(event)
    event.description_text = markdown_to_text(event.description)


def _refresh_description_text(new: list[object], dirty: list[object]) -> None:
    """Render the Markdown once per edit of a description, not once per calendar request."""
    added = set(map(id, new))
    for obj in chain(new, dirty):
        if isinstance(obj, Event) and (id(obj) in added or _changed(obj, ("description",))):
            text = markdown_to_text(obj.description)
            if obj.description_text != text:
                obj.description_text = text


def backfill_description_text(session: Session, batch_size: int = 1000) -> int:
    """Fill `description_text` where it is missing: rows written before the column existed
    or by Core inserts, which the flush listener never sees. Returns the rows updated."""
    table = Event.__table__
    rows = session.execute(
        select(table.c.id, table.c.description).where(
            table.c.description_text == "", table.c.description != ""
        )
    ).all()
    stmt = (
        update(table)
        .where(table.c.id == bindparam("event_id"))
        .values(description_text=bindparam("text"))
    )
    changed = [
        {"event_id": row.id, "text": text}
        for row in rows
        if (text := markdown_to_text(row.description))
    ]
    connection = session.connection()
    for start in range(0, len(changed), batch_size):
        connection.execute(stmt, changed[start : start + batch_size])
    return len(changed)


def _changed(obj: object, names: Iterable[str]) -> bool:
    attrs = sa_inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in names)


def _events_touched(
    session: Session, new: list[object], dirty: list[object], deleted: list[object]
) -> list[Event]:
    """Events whose search text may have changed, given the objects of one flush."""
    added, gone = set(map(id, new)), set(map(id, deleted))
    touched: dict[int, Event] = {}

    def touch(event: Event | None) -> None:
        if event is not None and id(event) not in gone:
            touched.setdefault(id(event), event)

    for obj in chain(new, dirty, deleted):
        is_new_or_gone = id(obj) in added or id(obj) in gone
        if isinstance(obj, Event):
            if id(obj) in added or _changed(obj, EVENT_FIELDS):
                touch(obj)
        elif isinstance(obj, AgendaSession):
            if is_new_or_gone or _changed(obj, SESSION_FIELDS):
                touch(obj.event)
        elif isinstance(obj, SessionSpeaker):
            if obj.session is not None:
                touch(obj.session.event)
        elif isinstance(obj, Organisation) and id(obj) not in added and _changed(obj, ("name",)):
            # A renamed organisation: its events are found by the new name only.
            for event in session.scalars(select(Event).where(Event.organisation_id == obj.id)):
                touch(event)
        elif isinstance(obj, Speaker) and id(obj) not in added and _changed(obj, ("name",)):
            stmt = (
                select(Event)
                .join(Event.sessions)
                .join(AgendaSession.speaker_links)
                .where(SessionSpeaker.speaker_id == obj.id)
            )
            for event in session.scalars(stmt).unique():
                touch(event)
    return list(touched.values())


def _keep_current(session: Session, _flush_context: object, _instances: object) -> None:
    """Every flush that changes an event's text, place, sessions, speakers or its
    organisation's name refreshes its search_text (and a changed description its
    description_text), whichever code (organiser pages, demo data, CLI) made the change."""
    # session.new/dirty/deleted build a fresh set on every access: take them once.
    new, dirty, deleted = list(session.new), list(session.dirty), list(session.deleted)
    if not (new or dirty or deleted):
        return
    gone = set(map(id, deleted))
    with session.no_autoflush:
        _refresh_description_text(new, dirty)
        for event in _events_touched(session, new, dirty, deleted):
            text = build(event, gone)
            if event.search_text != text:
                event.search_text = text


# Registered once, on the Session class, so every session (requests, CLI, tests) has it.
if not sa_event.contains(Session, "before_flush", _keep_current):
    sa_event.listen(Session, "before_flush", _keep_current)
