"""The public listing: its filters, the free-text search, and paging through the results."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, column, exists, func, select, table

from eventsite import catalogue, database, templating
from eventsite.events import cards
from eventsite.events.models import (
    Event,
    EventFormat,
    EventKind,
    EventStatus,
    Organisation,
    Topic,
    event_topics,
)
from eventsite.extensions import db
from eventsite.i18n import current_code
from eventsite.i18n import gettext as _

PUBLIC_STATUSES = (EventStatus.PUBLISHED, EventStatus.CANCELLED)
MAX_QUERY_LENGTH = 200
MAX_SEARCH_TERMS = 8
MAX_SLUG_LENGTH = 120
MAX_PAGE = 999_999_999


class Period(StrEnum):
    UPCOMING = "upcoming"
    PAST = "past"


# --- listing filters -------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingFilters:
    topic: str | None = None  # topic slug
    organisation: str | None = None  # organisation slug
    kind: EventKind | None = None
    format: EventFormat | None = None
    country: str | None = None  # ISO 3166-1 alpha-2, upper case
    q: str | None = None  # free text
    date_from: date | None = None
    date_to: date | None = None

    def query_args(self) -> dict[str, str]:
        """The filters as URL query arguments (for links, paging and feeds)."""
        args: dict[str, str] = {}
        if self.topic:
            args["topic"] = self.topic
        if self.organisation:
            args["organisation"] = self.organisation
        if self.kind:
            args["kind"] = self.kind.value
        if self.format:
            args["format"] = self.format.value
        if self.country:
            args["country"] = self.country
        if self.date_from:
            args["from"] = self.date_from.isoformat()
        if self.date_to:
            args["to"] = self.date_to.isoformat()
        if self.q:
            args["q"] = self.q
        return args

    @property
    def is_empty(self) -> bool:
        return not self.query_args()


# Whether a topic or organisation slug exists, kept while the catalogue stays the same (both
# are in it): a filtered listing, feed or API page asks on every request.
_slugs: catalogue.VersionedMemo[bool] = catalogue.VersionedMemo(2048)


def _slug_exists(model: type[Topic] | type[Organisation], slug: str) -> bool:
    return _slugs.get(
        catalogue.request_stamp(),
        (model.__tablename__, slug),
        lambda: db.session.scalar(select(exists().where(model.slug == slug))) or False,
    )


def known_filters(filters: ListingFilters) -> tuple[ListingFilters, list[str]]:
    """The filters without a topic or organisation that does not exist, and a sentence
    for each one dropped (the form checked their shape, this asks the database)."""
    messages: list[str] = []
    if filters.topic and not _slug_exists(Topic, filters.topic):
        messages.append(_("Unknown topic '%(value)s' was ignored.", value=shorten(filters.topic)))
        filters = dataclasses.replace(filters, topic=None)
    if filters.organisation and not _slug_exists(Organisation, filters.organisation):
        messages.append(
            _("Unknown organisation '%(value)s' was ignored.", value=shorten(filters.organisation))
        )
        filters = dataclasses.replace(filters, organisation=None)
    return filters, messages


def shorten(value: str, limit: int = 40) -> str:
    """A value quoted back in a message, cut to `limit` characters."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# The trigram index finds a word only through a run of at least 3 characters.
MIN_INDEXED_LENGTH = 3


def _search_condition(term: str, dialect: str) -> ColumnElement[bool]:
    """`term` appears in the event's search text, as a plain substring.

    On PostgreSQL the LIKE uses the GIN trigram index as it is. On SQLite the FTS5 trigram
    table (case-sensitive: both sides are lower-cased already) answers a phrase query with
    the events holding the word as a substring, straight from the index: no wildcards to
    escape, no second look at the text. It needs 3 characters; shorter words use the LIKE."""
    if dialect != "sqlite" or len(term) < MIN_INDEXED_LENGTH or "\x00" in term:
        return Event.search_text.like(_like_pattern(term), escape="\\")
    phrase = '"{}"'.format(term.replace('"', '""'))
    fts = table("events_fts", column("rowid"), column("events_fts"))
    return Event.id.in_(select(fts.c.rowid).where(fts.c.events_fts.op("MATCH")(phrase)))


def search_terms(q: str | None) -> list[str]:
    return (q or "").lower().split()[:MAX_SEARCH_TERMS]


def apply_listing_filters(stmt: Select, filters: ListingFilters) -> Select:
    """Narrow a select over Event by every filter that is set (they combine with AND)."""
    # IN (a list the database builds once) rather than a correlated EXISTS per event.
    if filters.topic:
        tagged = (
            select(event_topics.c.event_id)
            .join(Topic, Topic.id == event_topics.c.topic_id)
            .where(Topic.slug == filters.topic)
        )
        stmt = stmt.where(Event.id.in_(tagged))
    if filters.organisation:
        organisation_id = select(Organisation.id).where(Organisation.slug == filters.organisation)
        stmt = stmt.where(Event.organisation_id == organisation_id.scalar_subquery())
    if filters.kind:
        stmt = stmt.where(Event.kind == filters.kind)
    if filters.format:
        stmt = stmt.where(Event.format == filters.format)
    if filters.country:
        stmt = stmt.where(Event.country == filters.country)
    # Days are the site's (UTC) days; an event is in range when any part of it overlaps.
    if filters.date_from:
        stmt = stmt.where(Event.ends_at > datetime.combine(filters.date_from, time.min, UTC))
    if filters.date_to:
        day_after = datetime.combine(filters.date_to + timedelta(days=1), time.min, UTC)
        stmt = stmt.where(Event.starts_at < day_after)
    dialect = db.session.get_bind().dialect.name
    for term in search_terms(filters.q):
        stmt = stmt.where(_search_condition(term, dialect))
    return stmt


# --- read queries ----------------------------------------------------------------------------


@functools.cache
def public_events() -> Select:
    """Published and cancelled events: built once per process (a statement is never
    changed, each clause added makes a new one)."""
    return select(Event).where(database.in_constants(Event.status, PUBLIC_STATUSES))


def has_public_events() -> bool:
    """One cheap EXISTS: does the site have anything to list yet?"""
    return bool(
        db.session.scalar(
            select(exists().where(database.in_constants(Event.status, PUBLIC_STATUSES)))
        )
    )


def list_public_events(filters: ListingFilters, *, period: Period, now: datetime) -> Select:
    """Upcoming (not yet ended) events soonest first, or past ones most recently ended first."""
    stmt = apply_listing_filters(public_events(), filters)
    if period == Period.PAST:
        return stmt.where(Event.ends_at <= now).order_by(Event.ends_at.desc(), Event.id.desc())
    return stmt.where(Event.ends_at > now).order_by(Event.starts_at, Event.id)


@dataclass(frozen=True)
class Page:
    items: list[Event | cards.CardFacts]  # facts only with `kept_cards`
    total: int
    number: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def is_past_end(self) -> bool:
        return self.total > 0 and self.number > self.pages

    @property
    def has_previous(self) -> bool:
        return 1 < self.number <= self.pages

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def window(self, size: int = 2) -> list[int | None]:
        """Page numbers to link to, with None where numbers are left out."""
        wanted = {1, self.pages, *range(self.number - size, self.number + size + 1)}
        numbers = sorted(n for n in wanted if 1 <= n <= self.pages)
        shown: list[int | None] = []
        for n in numbers:
            if shown and n - (shown[-1] or 0) > 1:
                shown.append(None)
            shown.append(n)
        return shown


# What a listing's query found, kept in each process while the catalogue (and the minute
# of the clock that decides which events are upcoming) stays the same: the number of
# matches, and each page's ids. Counting every match and sorting them for a page were
# most of a rendered listing's database time (bench, 10,000 events, SQLite: 1.3 and 0.8 of
# 2.2 ms for the unfiltered first page), and both grow with the catalogue where the page
# does not.
_totals: catalogue.VersionedMemo[int] = catalogue.VersionedMemo(1024)
_page_ids: catalogue.VersionedMemo[list[int]] = catalogue.VersionedMemo(2048)


def total_key(filters: ListingFilters, period: Period, now: datetime) -> tuple[object, ...]:
    """`paginate_events`' key for what `list_public_events(filters, period, now)` finds:
    the same for a minute, like the page cache's entries."""
    return (filters, period, now.replace(second=0, microsecond=0))


def paginate_events(
    statement: Callable[[], Select],
    number: int,
    per_page: int,
    *,
    narrowed: bool = True,
    total_key: Hashable | None = None,
    kept_cards: bool = False,
) -> Page:
    """The page's ids and the total, then those events with organisation and topics: a
    fixed number of queries whatever the page shows. With a `total_key` (see `total_key`),
    the total and the page's ids are read once per catalogue version and minute.

    Not db.paginate: measured against it (bench data, 10,000 events, SQLite, medians of
    120 interleaved runs), db.paginate took 34.6 ms for the first page where this takes
    13.3 ms, 45.3 against 16.6 ms for page 50, 27.0 against 20.1 filtered, 19.9 against
    16.7 for a text search: its COUNT wraps the whole select, and its page reads full rows
    past the OFFSET. (`make bench`'s listing rows are measured with this one.)

    The ids come with the total alongside. `narrowed` (some filter is set): a window
    count, one pass over the matches (a text search reads every candidate's text once,
    not twice). Not narrowed, the matches are most events: a COUNT subquery on the
    covering index, and a sort that keeps only the top rows, cost a fraction of the
    window count, which sorts them all. Only a page past the end needs a separate COUNT."""
    offset = (number - 1) * per_page
    stamp = catalogue.request_stamp() if total_key is not None else None
    page_key = (total_key, number, per_page)
    total = _totals.peek(stamp, total_key) if stamp is not None else None
    ids = _page_ids.peek(stamp, page_key) if total is not None else None
    if ids is None:  # the statement is built only then (a tenth of a kept listing's time)
        ids, total = _page_ids_and_total(statement(), offset, per_page, total, narrowed)
    if stamp is not None:
        found = total
        _totals.get(stamp, total_key, lambda: found)
        _page_ids.get(stamp, page_key, lambda: ids)
    if not ids:
        return Page([], total or 0, number, per_page)
    # `kept_cards` (the listing's cards): a card kept from an earlier render comes with the
    # facts its registration words need; only the others are read, with their organisation,
    # pictures and topics.
    kept = cards.kept_facts(ids) if kept_cards else {}
    fresh = [event_id for event_id in ids if event_id not in kept]
    events: dict[int, Event | cards.CardFacts] = dict(kept)
    if fresh:
        events.update((event.id, event) for event in cards.events_for_cards(fresh))
    return Page(
        [events[event_id] for event_id in ids if event_id in events], total or 0, number, per_page
    )


def _page_ids_and_total(
    stmt: Select, offset: int, per_page: int, total: int | None, narrowed: bool
) -> tuple[list[int], int]:
    """The page's ids, and the number of matches (read with them unless `total` is known)."""
    if total is not None:
        ids = db.session.scalars(stmt.with_only_columns(Event.id).limit(per_page).offset(offset))
        return list(ids), total
    if narrowed:
        total_column = func.count().over()
    else:
        count = stmt.with_only_columns(func.count(Event.id)).order_by(None)
        total_column = count.scalar_subquery().correlate(None)  # once, not per row
    rows = db.session.execute(
        stmt.with_only_columns(Event.id, total_column).limit(per_page).offset(offset)
    ).all()
    found = rows[0][1] if rows else None
    if found is None:
        found = db.session.scalar(stmt.with_only_columns(func.count(Event.id)).order_by(None))
    return [row[0] for row in rows], found or 0


def all_topics() -> list[Topic]:
    return list(db.session.scalars(select(Topic).order_by(Topic.name, Topic.id)))


# The filter form's choices change only with the catalogue: read once per version and
# language in each process rather than with two queries (one a DISTINCT over every event)
# and a collation sort per listing (bench: ~8 % of a rendered listing's time).
_choices: catalogue.VersionedMemo[list[tuple[str, str]]] = catalogue.VersionedMemo(64)


def topic_choices() -> list[tuple[str, str]]:
    """(slug, name) of every topic, by name: the topic filter's choices."""
    return _choices.get(
        catalogue.request_stamp(),
        "topics",
        lambda: [(topic.slug, topic.name) for topic in all_topics()],
    )


def country_choices(chosen: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of the countries with a public event, named in the reader's language
    and in the order they are looked up (plus `chosen`, the filter in use, if it has none)."""
    locale = current_code()
    named = _choices.get(
        catalogue.request_stamp(),
        ("countries", locale),
        lambda: templating.sort_by_name(
            (code, templating.country_name(code)) for code in public_countries()
        ),
    )
    if chosen and chosen not in dict(named):
        return templating.sort_by_name([*named, (chosen, templating.country_name(chosen))])
    return named


def public_countries() -> list[str]:
    """Country codes that have at least one public event."""
    stmt = (
        select(Event.country)
        .where(
            database.in_constants(Event.status, PUBLIC_STATUSES),
            Event.country.is_not(None),
            Event.country != "",
        )
        .distinct()
    )
    return [code for code in db.session.scalars(stmt) if code]
