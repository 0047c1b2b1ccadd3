"""Calendar feeds: which events, their cheap version stamp, the feed cache, secret tokens,
the revision rule and the "Add to calendar" links.

A feed is built from one Core select of the columns it shows (plus one for topic names),
never from ORM objects. Its ETag comes from the catalogue version (ical/catalogue.py):
one primary-key lookup answers a conditional GET, whatever the feed's size.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, case, func, null, select
from sqlalchemy import inspect as sa_inspect

from eventsite import links
from eventsite.accounts.models import User, new_token
from eventsite.errors import DomainError
from eventsite.events import services as events_services
from eventsite.events.models import (
    TIME_PLACE_FIELDS,
    Event,
    EventStatus,
    Organisation,
    Topic,
    event_topics,
)
from eventsite.extensions import db
from eventsite.ical import builders, catalogue
from eventsite.markup import markdown_to_text

# Feeds hold what is coming and what ended recently (so last month's event stays put).
# The window starts at a UTC midnight, so a feed changes at most once a day by itself.
FEED_WINDOW = timedelta(days=90)
# The listing's query arguments; anything else in a feed URL is a mistake worth a 400.
FEED_ARGS = frozenset({"topic", "organisation", "kind", "format", "country", "q", "from", "to"})
# Raise when the builders' output changes, so clients' stored ETags stop matching.
BUILD_GENERATION = "3"
MAX_TOKEN_LENGTH = 64
# Last-Modified of a feed without events.
EMPTY_FEED_MODIFIED = datetime(2000, 1, 1, tzinfo=UTC)


class FeedError(DomainError):
    """A feed URL asks for something that cannot be served (unknown filter values)."""


# --- what goes into a feed ---------------------------------------------------------------


def parse_feed_filters(
    args: Mapping[str, str], *, fixed: Mapping[str, str] | None = None
) -> events_services.ListingFilters:
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
    filters, messages = events_services.parse_listing_filters(merged)
    if messages:
        raise FeedError(" ".join(messages))
    return filters


def window_day(now: datetime) -> datetime:
    """The UTC midnight starting `now`'s day: the feed window moves once a day."""
    return datetime.combine(now.astimezone(UTC).date(), time.min, UTC)


def feed_events(filters: events_services.ListingFilters, now: datetime) -> Select:
    """Published and cancelled events matching the filters that end after 90 days before
    today (UTC): the same events all day long, so the catalogue version and the date
    decide the feed."""
    stmt = events_services.apply_listing_filters(events_services.public_events(), filters)
    cutoff = window_day(now) - FEED_WINDOW
    return stmt.where(Event.ends_at > cutoff).order_by(Event.starts_at, Event.id)


def organisation_events(organisation: Organisation) -> Select:
    """Every event of the organisation, drafts included (members only)."""
    return (
        select(Event)
        .where(Event.organisation_id == organisation.id)
        .order_by(Event.starts_at, Event.id)
    )


def personal_events(user: User) -> Select:
    """(Event, registration status) for the user's active registrations of public events."""
    from eventsite.registration.models import ACTIVE_STATUSES, Registration

    return (
        select(Event, Registration.status)
        .join(Registration, Registration.event_id == Event.id)
        .where(
            Registration.user_id == user.id,
            Registration.status.in_(ACTIVE_STATUSES),
            Event.status.in_(events_services.PUBLIC_STATUSES),
        )
        .order_by(Event.starts_at, Event.id)
    )


def _feed_columns() -> list[Any]:
    columns: list[Any] = [getattr(Event, name) for name in builders.EVENT_COLUMNS]
    columns += [
        Event.description_text,
        # Rows written around the ORM (bulk loads, before the column existed) may lack the
        # plain text; their Markdown comes along, only for them, and is rendered here.
        case((Event.description_text == "", Event.description), else_=null()),
        Organisation.name,
    ]
    return columns


def load_feed_rows(stmt: Select, *extra: Any) -> list[tuple[builders.FeedEvent, ...]]:
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
    ids = stmt.with_only_columns(Event.id).order_by(None)
    topic_rows = db.session.execute(
        select(event_topics.c.event_id, Topic.name)
        .join(Topic, Topic.id == event_topics.c.topic_id)
        .where(event_topics.c.event_id.in_(ids))
        .order_by(event_topics.c.event_id, Topic.name)  # as Event.topics orders them
    )
    for event_id, topic_name in topic_rows:
        topics.setdefault(event_id, []).append(topic_name)
    width = len(builders.EVENT_COLUMNS)
    make = builders.FeedEvent._make
    result = []
    for row in rows:
        text, markdown, organisation_name = row[width : width + 3]
        if markdown:
            text = markdown_to_text(markdown)
        names = topics.get(row[0])
        fields = (*row[:width], text, organisation_name, tuple(names) if names else ())
        result.append((make(fields), *row[width + 3 :]))
    return result


def load_events(stmt: Select) -> list[builders.FeedEvent]:
    """The events of a select over Event, as the feed builder reads them."""
    return [row[0] for row in load_feed_rows(stmt)]


# --- version stamps: one query decides 304 / cache hit / build ------------------------------


@dataclass(frozen=True)
class FeedVersion:
    etag: str  # strong, without quotes
    last_modified: datetime

    @property
    def http_etag(self) -> str:
        return f'"{self.etag}"'


def _version(
    kind: str, args: Iterable[Any], values: Iterable[Any], last_modified: datetime | None = None
) -> FeedVersion:
    """The ETag hashes everything the bytes depend on: the data's version, the feed's
    arguments, the settings and the language of the phrases (and of the feed's name)."""
    values = list(values)
    if last_modified is None:
        stamps = [v for v in values if isinstance(v, datetime)]
        last_modified = max(stamps) if stamps else EMPTY_FEED_MODIFIED
    settings = builders.current_settings()
    material = repr(
        (
            BUILD_GENERATION,
            kind,
            tuple(args),
            values,
            settings,
            current_app.config.get("SITE_NAME"),
            _("Cancelled:"),
        )
    )
    digest = hashlib.sha256(material.encode()).hexdigest()[:32]
    return FeedVersion(etag=digest, last_modified=last_modified.astimezone(UTC))


def public_feed_version(filters: events_services.ListingFilters, now: datetime) -> FeedVersion:
    """One primary-key lookup: the feed is a function of the catalogue version, the
    filters and the day (its window moves at UTC midnight). Last-Modified is the later of
    the catalogue's last change and that midnight."""
    stamp = catalogue.current(db.session)
    day = window_day(now)
    return _version(
        "public",
        sorted(filters.query_args().items()),
        (stamp.version, stamp.changed_at, day),
        last_modified=max(stamp.changed_at, day),
    )


def organisation_feed_version(organisation: Organisation) -> FeedVersion:
    """The organisation's events (drafts included) change only with the catalogue."""
    stamp = catalogue.current(db.session)
    return _version(
        "organisation-export",
        (organisation.id,),
        (stamp.version, stamp.changed_at),
        last_modified=stamp.changed_at,
    )


def personal_feed_version(user: User) -> FeedVersion:
    """The catalogue version and the user's registrations, in one query (the events'
    side is the catalogue's; registrations are read by the index on user_id)."""
    from eventsite.registration.models import ACTIVE_STATUSES, Registration, RegistrationStatus

    confirmed = case(
        (Registration.status == RegistrationStatus.CONFIRMED, Registration.id), else_=0
    )
    version, changed_at = catalogue.stamp_columns()
    row = db.session.execute(
        select(
            func.count(Registration.id),
            func.max(Registration.updated_at),
            func.coalesce(func.sum(Registration.id), 0),
            # a confirmation changes the feed even if a writer forgot updated_at
            func.coalesce(func.sum(confirmed), 0),
            version,
            changed_at,
        ).where(Registration.user_id == user.id, Registration.status.in_(ACTIVE_STATUSES))
    ).one()
    count, registered_at, id_sum, confirmed_sum = row[:4]
    stamp = catalogue.to_stamp(*row[4:])
    last_modified = max(stamp.changed_at, registered_at or stamp.changed_at)
    values = (stamp.version, stamp.changed_at, count, registered_at, id_sum, confirmed_sum)
    return _version("personal", (user.id,), values, last_modified=last_modified)


def event_version(event: Event, with_sessions: bool) -> FeedVersion:
    """The single event's download: the event is loaded anyway, so no extra query."""
    values: list[Any] = [event.id, event.updated_at, event.revision, event.status]
    values += [event.organisation.name, tuple(t.name for t in event.topics)]
    if with_sessions:
        values += [(s.id, s.updated_at, tuple(x.name for x in s.speakers)) for s in event.sessions]
    return _version("event", (with_sessions,), values)


# --- built feeds, kept by version ----------------------------------------------------------


class FeedCache:
    """A small in-process LRU of built calendars keyed by their ETag.

    The ETag moves with the catalogue version, so a changed event gives a new key and
    the stale entry simply ages out; nothing needs explicit invalidation. Each worker
    process has its own cache (bounded by entries and bytes).
    """

    def __init__(self, max_entries: int = 64, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._data: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._data.get(key)
            if data is not None:
                self._data.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return data

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._data[key] = data
            self._size += len(data)
            while len(self._data) > self.max_entries or self._size > self.max_bytes:
                _key, evicted = self._data.popitem(last=False)
                self._size -= len(evicted)

    def get_or_build(self, key: str, build: Callable[[], bytes]) -> bytes:
        data = self.get(key)
        if data is None:
            data = build()
            self.put(key, data)
        return data

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._size = 0


FEED_CACHE = FeedCache()


# --- building the feeds --------------------------------------------------------------------


def _site_name() -> str:
    return str(current_app.config["SITE_NAME"])


def feed_name(filters: events_services.ListingFilters) -> str:
    """ "eventsite: Climate · Conference · Switzerland" for the filters in use."""
    labels: list[str] = []
    if filters.topic:
        topic = db.session.scalar(select(Topic).where(Topic.slug == filters.topic))
        labels.append(topic.name if topic else filters.topic)
    if filters.organisation:
        organisation = db.session.scalar(
            select(Organisation).where(Organisation.slug == filters.organisation)
        )
        labels.append(organisation.name if organisation else filters.organisation)
    if filters.kind:
        labels.append(filters.kind.value.replace("_", " ").capitalize())
    if filters.format:
        labels.append(filters.format.value.replace("_", " ").capitalize())
    if filters.country:
        labels.append(builders.country_names().get(filters.country, filters.country))
    if filters.q:
        labels.append(f"“{filters.q}”")
    if filters.date_from or filters.date_to:
        start = filters.date_from.isoformat() if filters.date_from else ""
        end = filters.date_to.isoformat() if filters.date_to else ""
        labels.append(f"{start}–{end}")
    if not labels:
        return _("%(site)s: all events", site=_site_name())
    return f"{_site_name()}: {' · '.join(labels)}"


def build_public_feed(filters: events_services.ListingFilters, now: datetime) -> bytes:
    events = load_events(feed_events(filters, now))
    return builders.build_feed(events, name=feed_name(filters))


def build_personal_feed(user: User) -> bytes:
    from eventsite.registration.models import Registration, RegistrationStatus

    rows = load_feed_rows(personal_events(user), Registration.status)
    events: list[builders.FeedEvent] = []
    variants: dict[int, builders.Variant] = {}
    for event, status in rows:
        events.append(event)
        confirmed = status == RegistrationStatus.CONFIRMED
        variants[event.id] = builders.Variant(
            status="CONFIRMED" if confirmed else "TENTATIVE", show_online_url=confirmed
        )
    return builders.build_feed(
        events, name=_("%(site)s: my events", site=_site_name()), variants=variants
    )


def draft_variant() -> builders.Variant:
    return builders.Variant(
        status="TENTATIVE", summary_prefix=_("[Draft]") + " ", show_online_url=True
    )


def build_organisation_export(organisation: Organisation) -> bytes:
    events = load_events(organisation_events(organisation))
    drafts = draft_variant()
    members = builders.Variant(show_online_url=True)
    variants = {e.id: drafts if e.status == EventStatus.DRAFT else members for e in events}
    return builders.build_feed(
        events,
        name=_("%(name)s: all events (private)", name=organisation.name),
        variants=variants,
    )


# --- secret tokens ---------------------------------------------------------------------------


def _usable_token(token: str) -> bool:
    return 0 < len(token) <= MAX_TOKEN_LENGTH and token.isascii() and "\x00" not in token


def user_for_calendar_token(token: str) -> User | None:
    if not _usable_token(token):
        return None
    return db.session.scalar(select(User).where(User.calendar_token == token))


def regenerate_user_calendar_token(user: User) -> str:
    """A new secret for the personal feed; the old URL stops working."""
    user.calendar_token = new_token()
    db.session.flush()
    return user.calendar_token


def organisation_for_calendar_token(token: str) -> Organisation | None:
    if not _usable_token(token):
        return None
    return db.session.scalar(select(Organisation).where(Organisation.calendar_token == token))


def ensure_organisation_calendar_token(organisation: Organisation) -> str:
    """The organisation's private feed secret, created the first time a member asks."""
    if not organisation.calendar_token:
        organisation.calendar_token = new_token()
        db.session.flush()
    return organisation.calendar_token


def regenerate_organisation_calendar_token(organisation: Organisation) -> str:
    organisation.calendar_token = new_token()
    db.session.flush()
    return organisation.calendar_token


def is_member(user: Any, organisation: Organisation) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.is_member_of(organisation.id)


def member_organisations(user: User) -> list[Organisation]:
    if user.is_admin:
        return list(db.session.scalars(select(Organisation).order_by(Organisation.name)))
    return sorted((m.organisation for m in user.memberships), key=lambda o: o.name.lower())


# --- the revision rule -------------------------------------------------------------------------


def bump_revision_if_moved(event: Event, changed: Iterable[str] | None = None) -> bool:
    """Raise the calendar SEQUENCE when the date, time or place changed.

    `changed` names the fields that changed; without it the unflushed attribute history
    of the event is read, so call this before the session flushes. Returns whether the
    revision went up (the caller then sends update emails: notifications.notify_event_changed).
    """
    if changed is None:
        attrs = sa_inspect(event).attrs
        moved = any(attrs[name].history.has_changes() for name in TIME_PLACE_FIELDS)
    else:
        moved = bool(set(changed) & set(TIME_PLACE_FIELDS))
    if moved:
        event.revision = (event.revision or 0) + 1
    return moved


# --- links -----------------------------------------------------------------------------------


def webcal_url(url: str) -> str:
    """webcal:// asks the operating system's calendar app to subscribe."""
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            return "webcal://" + url[len(scheme) :]
    return url


@dataclass(frozen=True)
class CalendarLinks:
    download: str
    subscribe: str
    google: str
    outlook: str


def _utc_stamp(value: datetime, separators: bool = False) -> str:
    # Formatted by hand: strftime's %Y drops the leading zeros of years before 1000.
    value = value.astimezone(UTC)
    if separators:
        return (
            f"{value.year:04}-{value.month:02}-{value.day:02}"
            f"T{value.hour:02}:{value.minute:02}:{value.second:02}Z"
        )
    return (
        f"{value.year:04}{value.month:02}{value.day:02}"
        f"T{value.hour:02}{value.minute:02}{value.second:02}Z"
    )


def _details(event: Event, url: str, limit: int = 1000) -> str:
    text = event.summary.strip() or event.description_text or markdown_to_text(event.description)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"{text}\n\n{url}" if text else url


def _query(params: Mapping[str, str]) -> str:
    # Slashes and colons stay readable in dates and paths; everything else is escaped.
    return urlencode(params, quote_via=quote, safe="/:")


def calendar_links(event: Event) -> CalendarLinks:
    """Download, subscribe, Google Calendar and Outlook.com links, times in UTC (all-day
    events as dates with an exclusive end)."""
    download = links.external_url("ical.event_ics", slug=event.slug)
    page = builders.event_url(event, current_app.config["BASE_URL"])
    title = event.title if not event.is_cancelled else f"{_('Cancelled:')} {event.title}"
    details = _details(event, page)
    location = builders.event_location(event)
    # All-day events as dates (exclusive end), as in the .ics; past 31 December 9999
    # they cannot be, and like the .ics keep their instants in UTC.
    days = builders.all_day_dates(event) if event.is_all_day else None
    if days is not None:
        first, end = days
        google_dates = "/".join(day.isoformat().replace("-", "") for day in days)
        outlook_times = {"startdt": first.isoformat(), "enddt": end.isoformat(), "allday": "true"}
    else:
        google_dates = f"{_utc_stamp(event.starts_at)}/{_utc_stamp(event.ends_at)}"
        outlook_times = {
            "startdt": _utc_stamp(event.starts_at, separators=True),
            "enddt": _utc_stamp(event.ends_at, separators=True),
        }
    google = "https://calendar.google.com/calendar/render?" + _query(
        {
            "action": "TEMPLATE",
            "text": title,
            "dates": google_dates,
            "details": details,
            "location": location,
        }
    )
    outlook = "https://outlook.live.com/calendar/0/deeplink/compose?" + _query(
        {
            "path": "/calendar/action/compose",
            "rru": "addevent",
            "subject": title,
            **outlook_times,
            "body": details,
            "location": location,
        }
    )
    return CalendarLinks(
        download=download, subscribe=webcal_url(download), google=google, outlook=outlook
    )


def personal_feed_url(user: User) -> str:
    return links.external_url("ical.personal_feed", token=user.calendar_token)


def organisation_feed_url(organisation: Organisation) -> str | None:
    if not organisation.calendar_token:
        return None
    return links.external_url("ical.organisation_private_feed", token=organisation.calendar_token)
