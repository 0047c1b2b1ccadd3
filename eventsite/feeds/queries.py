"""Which events a feed holds, read with one Core select of the columns it shows (plus one for
topic names), never as ORM objects."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, case, null, select
from werkzeug.datastructures import MultiDict

from eventsite import database
from eventsite.accounts.models import User
from eventsite.errors import DomainError
from eventsite.events import forms, listing
from eventsite.events.models import Event, Topic, event_topics
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.ical import content
from eventsite.markup import markdown_to_text
from eventsite.organisations.models import Organisation
from eventsite.registration.models import ACTIVE_STATUSES, Registration

# Feeds hold what is coming and what ended recently (so last month's event stays put).
# The window starts at a UTC midnight, so a feed changes at most once a day by itself.
FEED_WINDOW = timedelta(days=90)
# At most this many events, the earliest first (the window's recent past, then what comes
# next): a catalogue of 100,000 events made /calendar.ics a 150 MB file that took 18 s to
# build and was too large to keep, on every request (`python -m bench scale`). No calendar
# program wants that many; the filtered feeds (a topic, an organisation, a country) are the
# way to follow part of a large catalogue.
MAX_FEED_EVENTS = 10_000
# The listing's query arguments; anything else in a feed URL is a mistake worth a 400.
FEED_ARGS = frozenset({"topic", "organisation", "kind", "format", "country", "q", "from", "to"})


class FeedError(DomainError):
    """A feed URL asks for something that cannot be served (unknown filter values)."""


def parse_feed_filters(
    args: Mapping[str, str], *, fixed: Mapping[str, str] | None = None
) -> listing.ListingFilters:
    """The listing's filters from a feed URL; unlike the listing page, a value that cannot
    be used is an error (a subscription must not silently show something else)."""
    unknown = sorted(key for key in args if key not in FEED_ARGS)
    if unknown:
        raise FeedError(
            _(
                "Unknown parameter(s): %(names)s. A calendar feed accepts %(allowed)s.",
                names=", ".join(name[:40] for name in unknown[:5]),
                allowed=", ".join(sorted(FEED_ARGS)),
            )
        )
    merged = {key: args[key] for key in args if not (fixed and key in fixed)}
    merged.update(fixed or {})
    form = forms.ListingFilterForm(formdata=MultiDict(merged))
    form.validate()
    filters, messages = listing.known_filters(form.filters())
    messages = form.messages() + messages
    if messages:
        raise FeedError(" ".join(messages))
    return filters


def window_day(now: datetime) -> datetime:
    """The UTC midnight starting `now`'s day: the feed window moves once a day."""
    return datetime.combine(now.astimezone(UTC).date(), time.min, UTC)


def feed_events(filters: listing.ListingFilters, now: datetime) -> Select:
    """Published and cancelled events matching the filters that end after 90 days before
    today (UTC), at most MAX_FEED_EVENTS of them, earliest first: the same events all day
    long, so the catalogue version and the date decide the feed."""
    stmt = listing.apply_listing_filters(listing.public_events(), filters)
    cutoff = window_day(now) - FEED_WINDOW
    return (
        stmt.where(Event.ends_at > cutoff)
        .order_by(Event.starts_at, Event.id)
        .limit(MAX_FEED_EVENTS)
    )


def organisation_events(organisation: Organisation) -> Select:
    """Every event of the organisation, drafts included (members only)."""
    return (
        select(Event)
        .where(Event.organisation_id == organisation.id)
        .order_by(Event.starts_at, Event.id)
    )


def personal_events(user: User) -> Select:
    """(Event, registration status) for the user's active registrations of public events,
    held places (awaiting the email address's confirmation) left out."""
    return (
        select(Event, Registration.status)
        .join(Registration, Registration.event_id == Event.id)
        .where(
            Registration.user_id == user.id,
            database.in_constants(Registration.status, ACTIVE_STATUSES),
            Registration.hold_expires_at.is_(None),  # a held place is not in calendars yet
            Event.status.in_(listing.PUBLIC_STATUSES),
        )
        .order_by(Event.starts_at, Event.id)
    )


def _feed_columns() -> list[Any]:
    columns: list[Any] = [getattr(Event, name) for name in content.EVENT_COLUMNS]
    columns += [
        Event.description_text,
        # Rows written around the ORM (bulk loads, before the column existed) may lack the
        # plain text; their Markdown comes along, only for them, and is rendered here.
        case((Event.description_text == "", Event.description), else_=null()),
        Organisation.name,
    ]
    return columns


def load_feed_rows(stmt: Select, *extra: Any) -> list[tuple[content.FeedEvent, ...]]:
    """(FeedEvent, *extra) for each event a select over Event matches, in its order: one
    query for the events' columns and organisation names, one for their topics."""
    columns = _feed_columns()
    rows = db.session.execute(
        stmt.with_only_columns(*columns, *extra).join(
            Organisation, Organisation.id == Event.organisation_id
        )
    ).all()
    if not rows:
        return []
    topics: dict[int, list[str]] = {}
    ids = stmt.with_only_columns(Event.id)  # its order stays: it decides what a LIMIT keeps
    topic_rows = db.session.execute(
        select(event_topics.c.event_id, Topic.name)
        .join(Topic, Topic.id == event_topics.c.topic_id)
        .where(event_topics.c.event_id.in_(ids))
        .order_by(event_topics.c.event_id, Topic.name)  # as Event.topics orders them
    )
    for event_id, topic_name in topic_rows:
        topics.setdefault(event_id, []).append(topic_name)
    width = len(content.EVENT_COLUMNS)
    make = content.FeedEvent._make
    result = []
    for row in rows:
        text, markdown, organisation_name = row[width : width + 3]
        if markdown:
            text = markdown_to_text(markdown)
        names = topics.get(row[0])
        fields = (*row[:width], text, organisation_name, tuple(names) if names else ())
        result.append((make(fields), *row[width + 3 :]))
    return result


def load_events(stmt: Select) -> list[content.FeedEvent]:
    """The events of a select over Event, as the feed builder reads them."""
    return [row[0] for row in load_feed_rows(stmt)]
