"""What one event shows in a calendar: its UID, URL, times, place, GEO, title, description
and status, as plain values (builders.py writes them as VEVENTs and calendars).

Pure: no database session, no request. The only looks outside the arguments are the app's
config (the UID domain and the organiser address) when the caller does not pass `settings`,
and the translated phrases of the request's language (`current_words`). Events are read by
attribute (an ORM `Event` or a `FeedEvent` row) and their status and format compared by
their stored string values, so this package imports no domain package.

Text typed by people never reaches a file raw: control characters (which RFC 5545 TEXT
forbids and which make strict parsers reject a whole feed) are removed or turned into
line breaks (`clean_text`), and one-line values (SUMMARY, LOCATION, NAME, CN) get none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, urlsplit

from babel import Locale
from flask import current_app, has_app_context
from sqlalchemy import inspect as sa_inspect

from eventsite import timeutil
from eventsite.i18n import gettext as _
from eventsite.ical import vtimezone
from eventsite.markup import markdown_to_text

if TYPE_CHECKING:
    from eventsite.events.models import AgendaSession, Event

# The values of events.models.EventStatus and EventFormat that change what is written
# (StrEnum members compare equal to them).
CANCELLED = "cancelled"
DRAFT = "draft"
ONLINE = "online"
HYBRID = "hybrid"


# --- settings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarSettings:
    """Everything outside the models that a calendar depends on."""

    base_url: str
    uid_domain: str
    organizer_email: str
    refresh_minutes: int = 60


def settings_from_config(
    config: Mapping[str, Any], base_url: str | None = None
) -> CalendarSettings:
    base = (base_url or config.get("BASE_URL") or "http://localhost").rstrip("/")
    # UIDs must never change, so they come from configuration, never from a request's Host.
    domain = (
        config.get("ICAL_UID_DOMAIN")
        or urlsplit(config.get("BASE_URL") or base).hostname
        or "eventsite.invalid"
    )
    organizer = (
        config.get("ICAL_ORGANIZER_EMAIL") or parseaddr(config.get("MAIL_DEFAULT_SENDER") or "")[1]
    )
    return CalendarSettings(
        base_url=base,
        uid_domain=domain,
        organizer_email=organizer or f"no-reply@{domain}",
        refresh_minutes=int(config.get("CALENDAR_REFRESH_MINUTES") or 60),
    )


def _settings(base_url: str | None, settings: CalendarSettings | None) -> CalendarSettings:
    if settings is not None:
        return settings
    config: Mapping[str, Any] = current_app.config if has_app_context() else {}
    return settings_from_config(config, base_url)


def current_settings(base_url: str | None = None) -> CalendarSettings:
    return _settings(base_url, None)


def event_uid(event: Event | FeedEvent, settings: CalendarSettings | None = None) -> str:
    return f"event-{event.id}@{_settings(None, settings).uid_domain}"


def session_uid(session: AgendaSession, settings: CalendarSettings | None = None) -> str:
    return f"session-{session.id}@{_settings(None, settings).uid_domain}"


def event_url(event: Event | FeedEvent, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/events/{quote(event.slug)}"


# --- what a feed knows of an event ---------------------------------------------------------


class FeedEvent(NamedTuple):
    """The columns a VEVENT shows, read for a feed with one Core select (no ORM objects),
    plus the event's organisation name and topic names. A tuple: cheap to make from a
    row, and hashable, so it is the cache key of its own serialisation (any change to
    what is shown makes a new key)."""

    id: int
    slug: str
    title: str
    summary: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    is_all_day: bool
    venue_name: str
    venue_address: str
    city: str
    country: str | None
    latitude: float | None
    longitude: float | None
    format: str
    online_url: str | None
    status: str
    cancellation_reason: str
    revision: int
    created_at: datetime
    updated_at: datetime
    # Not columns of the same name: the plain text of the Markdown description (stored
    # in Event.description_text), the organisation's name and the topics' names.
    description_text: str = ""
    organisation_name: str | None = None
    topic_names: tuple[str, ...] = ()

    @classmethod
    def from_event(cls, event: Event) -> FeedEvent:
        """An ORM event's view (its description rendered now if not flushed yet)."""
        return cls(
            **{name: getattr(event, name) for name in EVENT_COLUMNS},
            description_text=plain_description(event),
            organisation_name=event.organisation.name if event.organisation else None,
            topic_names=tuple(topic.name for topic in event.topics),
        )


# The FeedEvent fields that are Event columns of the same name, in order (all but the last
# three, so a row of these columns is the start of a FeedEvent's positional arguments).
EVENT_COLUMNS = tuple(
    name
    for name in FeedEvent._fields
    if name not in ("description_text", "organisation_name", "topic_names")
)


# --- how one event appears ---------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """How an event is shown in one calendar: its STATUS, a SUMMARY prefix, and whether
    the private online link may appear (personal feeds and emails only)."""

    status: str | None = None  # None: from the event (CONFIRMED / CANCELLED)
    summary_prefix: str = ""
    show_online_url: bool = False


PUBLIC = Variant()


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str = ""
    partstat: str = "ACCEPTED"


def event_status(event: Event | FeedEvent, variant: Variant = PUBLIC) -> str:
    if event.status == CANCELLED:
        return "CANCELLED"  # a cancellation always wins over a registration's state
    if variant.status:
        return variant.status
    return "TENTATIVE" if event.status == DRAFT else "CONFIRMED"


@dataclass(frozen=True)
class Words:
    """The few phrases the builders add, translated once per calendar (not per event)."""

    online: str
    and_online: str
    cancelled_prefix: str
    cancelled_notice: str
    join_online: str  # with %(url)s
    join: str


def current_words() -> Words:
    return Words(
        online=_("Online"),
        and_online=_("and online"),
        cancelled_prefix=_("Cancelled:"),
        cancelled_notice=_("This event is cancelled."),
        join_online=_("Join online: %(url)s"),
        join=_("Join online"),
    )


@lru_cache(maxsize=1)
def country_names() -> Mapping[str, str]:
    return Locale.parse("en").territories


def event_location(event: Event | FeedEvent, words: Words | None = None) -> str:
    words = words or current_words()
    if event.format == ONLINE:
        return words.online
    country = country_names().get(event.country or "", event.country or "")
    parts = [event.venue_name, event.venue_address, event.city, country]
    text = ", ".join(p.strip() for p in parts if p and p.strip())
    if event.format == HYBRID:
        text = f"{text} ({words.and_online})" if text else words.online
    return text


def all_day_dates(event: Event | FeedEvent) -> tuple[date, date] | None:
    """First day and exclusive end day of an all-day event in its zone, or None when a
    day falls outside the years a date can hold (the end after 31 December 9999)."""
    try:
        first = timeutil.to_local(event.starts_at, event.timezone).date()
        # The stored end is the exclusive local midnight after the last day.
        last = timeutil.to_local(event.ends_at - timedelta(microseconds=1), event.timezone).date()
        return first, max(last + timedelta(days=1), first + timedelta(days=1))
    except OverflowError:
        return None


def event_times(event: Event | FeedEvent) -> tuple[date | datetime, date | datetime]:
    """DATE values with an exclusive end for all-day events; otherwise wall time in the
    event's zone (TZID) or UTC. An all-day event whose days cannot be written as DATEs
    (the year 9999's last day) keeps its exact instants, in UTC."""
    if event.is_all_day:
        days = all_day_dates(event)
        if days is not None:
            return days
        return event.starts_at.astimezone(UTC), event.ends_at.astimezone(UTC)
    return wall(event.starts_at, event.timezone), wall(event.ends_at, event.timezone)


def wall(value: datetime, tz_name: str) -> datetime:
    if tz_name in vtimezone.UTC_NAMES or not vtimezone.FIRST_WALL <= value <= vtimezone.LAST_WALL:
        # At the edges of the representable years the zone's wall time may not exist
        # (10000-01-01 in Zurich); UTC always does.
        return value.astimezone(UTC)
    local = value.astimezone(timeutil.zone(tz_name))
    offset = local.utcoffset()
    if offset is None or offset.seconds % 60:
        # Local mean time before a zone's first standard offset (-04:56:02 in New York
        # until 1883): ical.js reads TZOFFSETFROM/TO to the minute only.
        return value.astimezone(UTC)
    if local.replace(fold=1 - local.fold).utcoffset() != offset:
        # Either 02:30 of a night when clocks go back: RFC 5545 3.3.5 says a TZID wall
        # time means the first, but ical.js (Thunderbird) and node-ical read the second,
        # so both are said in UTC, which every parser reads alike. (A stored instant is
        # never in the spring gap: its wall time is after the jump.)
        return value.astimezone(UTC)
    return local


def geo_float(value: float) -> str:
    """A GEO coordinate as an RFC 5545 FLOAT: at most six decimals (the precision
    receivers must accept, RFC 5545 3.8.1.6), never Python's exponent form (1e-05)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def geo_value(latitude: float | None, longitude: float | None) -> str | None:
    """GEO's value (latitude;longitude), or None when the position is missing or is
    not a finite number."""
    if latitude is None or longitude is None:
        return None
    latitude, longitude = float(latitude), float(longitude)
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    return f"{geo_float(latitude)};{geo_float(longitude)}"


# Line breaks as people type them (CRLF, CR, Word's soft break U+000B, form feed, NEL,
# Unicode line and paragraph separators), and the other control characters RFC 5545
# TEXT forbids (C0 but TAB and LF, DEL) plus C1, which no one means to write.
_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile("[\t\n]+")


def clean_text(value: str) -> str:
    """A TEXT value with line breaks as LF (icalendar escapes them as \\n) and no other
    control character than TAB."""
    if value.replace("\n", "").replace("\t", "").isprintable():
        # Nothing to clean (isprintable is false for every character the patterns match),
        # checked at C speed: the two patterns were an eighth of writing a cold feed.
        return value
    return _CONTROLS.sub("", _BREAKS.sub("\n", value))


def clean_line(value: str) -> str:
    """A one-line TEXT value: clean_text with tabs and line breaks as single spaces."""
    if value.isprintable():  # no TAB, line break or other control character
        return value.strip()
    return _SPACES.sub(" ", clean_text(value)).strip()


def clean_cn(value: str) -> str:
    """A CN parameter: one line without double quotes (RFC 6868's ^' is shown literally
    by Outlook and Google, so quotes are dropped rather than encoded)."""
    return clean_line(value.replace('"', ""))


def plain_description(event: Event) -> str:
    """The description as plain text: the stored `description_text` (kept in step on
    every flush, events/search_text.py), unless it is empty (rows written around the
    ORM) or the Markdown changed since the last flush; then rendered here."""
    if event.description_text and not sa_inspect(event).attrs.description.history.has_changes():
        return event.description_text
    return markdown_to_text(event.description)


def online_url(event: Event | FeedEvent, variant: Variant, private: bool) -> str | None:
    """The join link, in private outputs only (personal feeds, members' exports, iTIP
    emails) and for the events the variant lets show it: public files never hold it."""
    if private and variant.show_online_url and event.online_url:
        return event.online_url
    return None


def event_description(
    event: Event | FeedEvent, variant: Variant, url: str, words: Words, private: bool
) -> str:
    parts: list[str] = []
    if event.status == CANCELLED:
        reason = (event.cancellation_reason or "").strip()
        parts.append(words.cancelled_notice + (f" {reason}" if reason else ""))
    if event.summary:
        parts.append(event.summary.strip())
    body = event.description_text if isinstance(event, FeedEvent) else plain_description(event)
    if body:
        parts.append(body)
    link = online_url(event, variant, private)
    if link:
        parts.append(words.join_online % {"url": link})
    parts.append(url)
    return clean_text("\n\n".join(parts))


def summary(event: Event | FeedEvent, variant: Variant, method: str | None, words: Words) -> str:
    prefix = variant.summary_prefix
    # Feeds: say it in the title too, for clients that ignore STATUS (emails with
    # METHOD:CANCEL get the client's own "Cancelled:" prefix).
    if event.status == CANCELLED and method is None:
        prefix = f"{prefix}{words.cancelled_prefix} "
    return clean_line(f"{prefix}{event.title}")
