"""iCalendar files from events: models in, RFC 5545 bytes out, icalendar the reference.

Pure: no database session, no request. The only looks outside the arguments are the app's
config (the UID domain and the organiser address) when the caller does not pass `settings`,
and the translated phrases of the request's language (`current_words`). Events are read by
attribute (an ORM `Event` or a `FeedEvent` row) and their status and format compared by
their stored string values, so this package imports no domain package.

Every VEVENT is an icalendar `Event` component (`event_component`), written by icalendar
(`to_ical()`: CRLF, folding, TEXT escaping) in downloads and invitations; VTIMEZONEs come
from vtimezone.py. A feed may hold ten thousand events, too many for icalendar to write
cold (see `feed_vevent`), so a feed's VEVENTs are written as strings by `feed_vevent`,
byte for byte the component's `to_ical()` (a test holds them to it), and cached (keyed by
everything they show); a calendar is its head, its VTIMEZONEs and those bytes joined,
which is what `Calendar.to_ical()` writes for the same components.

Text typed by people never reaches a file raw: control characters (which RFC 5545 TEXT
forbids and which make strict parsers reject a whole feed) are removed or turned into
line breaks (`clean_text`), and one-line values (SUMMARY, LOCATION, NAME, CN) get none.

Multi-day timed events stay one VEVENT from start to end (not one per day): the UID,
SEQUENCE and iTIP messages of an invitation are the event's, and one VEVENT per day would
split every update and cancellation into many; the agenda's sessions (`?sessions=1`) are
the per-day view for people who want their nights free.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, urlsplit

from babel import Locale
from flask import current_app, has_app_context
from flask_babel import gettext as _
from icalendar import Calendar, vCalAddress, vDuration, vGeo, vText, vUri
from icalendar import Event as VEvent
from sqlalchemy import inspect as sa_inspect

from eventsite import timeutil
from eventsite.ical import lines, vtimezone
from eventsite.markup import markdown_to_text

if TYPE_CHECKING:
    from eventsite.events.models import AgendaSession, Event

PRODID = "-//eventsite//eventsite calendars 1.0//EN"
_END = b"END:VCALENDAR\r\n"
# A feed with no event still holds one component (RFC 5545 3.6 wants at least one):
# the VTIMEZONE of UTC, which every client reads and none shows.
EMPTY_FEED_ZONE = "UTC"
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


def _event_times(event: Event | FeedEvent) -> tuple[date | datetime, date | datetime]:
    """DATE values with an exclusive end for all-day events; otherwise wall time in the
    event's zone (TZID) or UTC. An all-day event whose days cannot be written as DATEs
    (the year 9999's last day) keeps its exact instants, in UTC."""
    if event.is_all_day:
        days = all_day_dates(event)
        if days is not None:
            return days
        return event.starts_at.astimezone(UTC), event.ends_at.astimezone(UTC)
    return _wall(event.starts_at, event.timezone), _wall(event.ends_at, event.timezone)


def _wall(value: datetime, tz_name: str) -> datetime:
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


class _Geo(vGeo):
    """icalendar's GEO value written with geo_float (its own writes repr(float))."""

    def to_ical(self) -> str:
        return geo_value(self.latitude, self.longitude) or ""


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


def _organizer(organisation_name: str | None, settings: CalendarSettings) -> vCalAddress:
    address = vCalAddress(f"mailto:{settings.organizer_email}")
    address.params["CN"] = clean_cn(organisation_name or "") or settings.uid_domain
    return address


def _organisation_name(event: Event | FeedEvent) -> str | None:
    if isinstance(event, FeedEvent):
        return event.organisation_name
    return event.organisation.name if event.organisation else None


def _topic_names(event: Event | FeedEvent) -> tuple[str, ...]:
    if isinstance(event, FeedEvent):
        return event.topic_names
    return tuple(topic.name for topic in event.topics)


def plain_description(event: Event) -> str:
    """The description as plain text: the stored `description_text` (kept in step on
    every flush, events/search_text.py), unless it is empty (rows written around the
    ORM) or the Markdown changed since the last flush; then rendered here."""
    if event.description_text and not sa_inspect(event).attrs.description.history.has_changes():
        return event.description_text
    return markdown_to_text(event.description)


def _online_url(event: Event | FeedEvent, variant: Variant, private: bool) -> str | None:
    """The join link, in private outputs only (personal feeds, members' exports, iTIP
    emails) and for the events the variant lets show it: public files never hold it."""
    if private and variant.show_online_url and event.online_url:
        return event.online_url
    return None


def _event_description(
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
    online_url = _online_url(event, variant, private)
    if online_url:
        parts.append(words.join_online % {"url": online_url})
    parts.append(url)
    return clean_text("\n\n".join(parts))


def _summary(event: Event | FeedEvent, variant: Variant, method: str | None, words: Words) -> str:
    prefix = variant.summary_prefix
    # Feeds: say it in the title too, for clients that ignore STATUS (emails with
    # METHOD:CANCEL get the client's own "Cancelled:" prefix).
    if event.status == CANCELLED and method is None:
        prefix = f"{prefix}{words.cancelled_prefix} "
    return clean_line(f"{prefix}{event.title}")


def event_component(
    event: Event | FeedEvent,
    settings: CalendarSettings,
    *,
    variant: Variant = PUBLIC,
    method: str | None = None,
    attendee: Attendee | None = None,
    stamp: datetime | None = None,
    words: Words | None = None,
    private: bool = False,
) -> VEvent:
    """The VEVENT of one event. Without a METHOD, DTSTAMP is the event's last change
    (RFC 5545 3.8.7.2), so the same data always gives the same bytes. Only a `private`
    output holds the online join link (DESCRIPTION, URL and RFC 7986 CONFERENCE)."""
    words = words or current_words()
    url = event_url(event, settings.base_url)
    start, end = _event_times(event)
    component = VEvent()
    component.add("uid", event_uid(event, settings))
    component.add("dtstamp", (stamp or event.updated_at).astimezone(UTC))
    component.add("created", event.created_at.astimezone(UTC))
    component.add("last-modified", event.updated_at.astimezone(UTC))
    component.add("sequence", event.revision or 0)
    component.add("dtstart", start)
    component.add("dtend", end)
    component.add("summary", _summary(event, variant, method, words))
    component.add("description", _event_description(event, variant, url, words, private))
    online_url = _online_url(event, variant, private)
    # Online events: the join link is what a calendar's link button should open.
    component.add("url", vUri(online_url or url))
    if online_url:
        component.add(
            "conference",
            vUri(online_url),
            parameters={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": clean_cn(words.join)},
        )
    location = clean_line(event_location(event, words))
    if location:
        component.add("location", location)
    if geo_value(event.latitude, event.longitude) is not None:
        component.add("geo", _Geo((event.latitude, event.longitude)))
    topic_names = _topic_names(event)
    categories = [name for name in map(clean_line, topic_names) if name]
    if categories:
        component.add("categories", categories)
    component.add("organizer", _organizer(_organisation_name(event), settings))
    component.add("status", "CANCELLED" if method == "CANCEL" else event_status(event, variant))
    # Busy, all-day events too: a three-day summit is not "free" (Outlook, Google).
    component.add("transp", "OPAQUE")
    if attendee is not None:
        address = vCalAddress(f"mailto:{attendee.email}")
        if clean_cn(attendee.name):
            address.params["CN"] = clean_cn(attendee.name)
        address.params["ROLE"] = "REQ-PARTICIPANT"
        address.params["PARTSTAT"] = attendee.partstat
        address.params["RSVP"] = "FALSE"  # the organiser address does not read replies
        component.add("attendee", address)
    return component


def session_component(
    session: AgendaSession, event: Event, settings: CalendarSettings, *, variant: Variant = PUBLIC
) -> VEvent:
    """One agenda session, linked to its event by RELATED-TO (RELTYPE=PARENT)."""
    words = current_words()
    url = event_url(event, settings.base_url)
    component = VEvent()
    component.add("uid", session_uid(session, settings))
    component.add("dtstamp", session.updated_at.astimezone(UTC))
    component.add("created", session.created_at.astimezone(UTC))
    component.add("last-modified", session.updated_at.astimezone(UTC))
    component.add("sequence", event.revision or 0)
    component.add("dtstart", _wall(session.starts_at, event.timezone))
    component.add("dtend", _wall(session.ends_at, event.timezone))
    component.add(
        "summary", clean_line(f"{_summary(event, variant, None, words)}: {session.title}")
    )
    parts = []
    speakers = ", ".join(clean_line(speaker.name) for speaker in session.speakers)
    if speakers:
        parts.append(_("Speakers: %(names)s", names=speakers))
    body = markdown_to_text(session.description)
    if body:
        parts.append(body)
    parts.append(url)
    component.add("description", clean_text("\n\n".join(parts)))
    component.add("url", vUri(url))
    places = (clean_line(session.room), clean_line(event_location(event, words)))
    location = ", ".join(place for place in places if place)
    if location:
        component.add("location", location)
    component.add("related-to", event_uid(event, settings), parameters={"RELTYPE": "PARENT"})
    component.add("organizer", _organizer(_organisation_name(event), settings))
    component.add("status", event_status(event, variant))
    return component


# --- the feeds' lean VEVENT writer --------------------------------------------------------


def feed_vevent(
    event: Event | FeedEvent,
    settings: CalendarSettings,
    variant: Variant,
    words: Words,
    private: bool,
) -> bytes:
    """`event_component(event, settings, variant=..., words=..., private=...).to_ical()`,
    the same bytes, written as strings: a feed's VEVENTs only (no METHOD, no ATTENDEE).

    Replaces icalendar for speed (issue #10). `make bench` (`python -m bench ical
    --no-http`: 10,000 events, SQLite, /calendar.ics of 8,106 events built cold, median
    of 5 runs): with `event_component(...).to_ical()` 9,151 ms (1,156 ms for the earlier
    hand-written writer on the same machine); with this function 1,117 ms, against
    1,151 ms for that earlier writer in the same run (December 2026). icalendar spends
    its time folding character by character (`_foldline`, 43% of a VEVENT's cProfile)
    and creating a property, its Parameters and a content line per value. Here the values
    are the builders' own (`_summary`, `_event_description`, `_event_times`...),
    escaped and folded as icalendar does (lines.py), and whatever icalendar decides
    by many rules (parameter quoting, TZID) is still decided by icalendar, once per
    value. tests/ical/test_lean_vevents.py holds every byte to `event_component`'s
    `to_ical()`; change both together. Properties in icalendar's order: its canonical
    ones, then by name."""
    url = event_url(event, settings.base_url)
    start, end = _event_times(event)
    changed = lines.utc_stamp(event.updated_at)
    content = [
        "BEGIN:VEVENT",
        lines.text_line("SUMMARY", _summary(event, variant, None, words)),
        lines.fold(lines.date_line("DTSTART", start)),
        lines.fold(lines.date_line("DTEND", end)),
        "DTSTAMP:" + changed,
        lines.text_line("UID", event_uid(event, settings)),
        f"SEQUENCE:{event.revision or 0}",
    ]
    categories = _categories_line(_topic_names(event))
    if categories:
        content.append(categories)
    online_url = _online_url(event, variant, private)
    if online_url:
        label = clean_cn(words.join)
        parameters = lines.parameters((("FEATURE", "VIDEO"), ("LABEL", label), ("VALUE", "URI")))
        content.append(lines.fold(f"CONFERENCE;{parameters}:{online_url}"))
    content.append("CREATED:" + lines.utc_stamp(event.created_at))
    content.append(
        lines.text_line("DESCRIPTION", _event_description(event, variant, url, words, private))
    )
    geo = geo_value(event.latitude, event.longitude)
    if geo is not None:
        content.append("GEO:" + geo)
    content.append("LAST-MODIFIED:" + changed)
    location = clean_line(event_location(event, words))
    if location:
        content.append(lines.text_line("LOCATION", location))
    content.append(_organizer_line(_organisation_name(event), settings))
    content.append(lines.text_line("STATUS", event_status(event, variant)))
    content.append("TRANSP:OPAQUE")
    content.append(lines.fold("URL:" + (online_url or url)))
    content.append("END:VEVENT\r\n")
    return "\r\n".join(content).encode()


@lru_cache(maxsize=4096)
def _categories_line(topic_names: tuple[str, ...]) -> str:
    """CATEGORIES of feed_vevent, once per list of topics ("" when none is left)."""
    categories = [name for name in map(clean_line, topic_names) if name]
    if not categories:
        return ""
    return lines.fold("CATEGORIES:" + ",".join(map(lines.escape_text, categories)))


@lru_cache(maxsize=4096)
def _organizer_line(organisation_name: str | None, settings: CalendarSettings) -> str:
    """ORGANIZER of feed_vevent, once per organisation."""
    cn = clean_cn(organisation_name or "") or settings.uid_domain
    organizer = lines.parameters((("CN", cn),))
    return lines.fold(f"ORGANIZER;{organizer}:mailto:{settings.organizer_email}")


# --- the per-event serialisation cache ---------------------------------------------------


class _VeventCache:
    """LRU of serialised VEVENTs. The key is the FeedEvent itself (every value shown),
    the variant, the settings and the phrases' language, so an edit simply makes a new
    key; entries of old versions age out."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: bytes) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


VEVENT_CACHE = _VeventCache(max_entries=20_000)


def _cached_vevent(
    event: FeedEvent, settings: CalendarSettings, variant: Variant, words: Words, private: bool
) -> bytes:
    key = (event, variant, settings, words, private)
    data = VEVENT_CACHE.get(key)
    if data is None:
        data = feed_vevent(event, settings, variant, words, private)
        VEVENT_CACHE.put(key, data)
    return data


# --- whole calendars ---------------------------------------------------------------------


def _calendar_head(
    *,
    method: str | None,
    name: str | None,
    description: str | None,
    refresh_minutes: int | None,
    zones: Mapping[str, vtimezone.YearSpans],
    empty: bool = False,
) -> bytes:
    zone_parts = [vtimezone.vtimezone_bytes(tz, zones[tz]) for tz in sorted(zones)]
    if not zone_parts and empty:
        zone_parts = [vtimezone.utc_vtimezone_bytes(EMPTY_FEED_ZONE)]
    return _calendar_properties(method, name, description, refresh_minutes) + b"".join(zone_parts)


@lru_cache(maxsize=256)
def _calendar_properties(
    method: str | None, name: str | None, description: str | None, refresh_minutes: int | None
) -> bytes:
    """BEGIN:VCALENDAR and the calendar's properties: the same for every invitation (and
    every build of a feed), so written by icalendar once per combination."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    # icalendar types NAME and the X-WR- properties as unknown (written as given), so
    # they are made TEXT here to be escaped.
    if name and clean_line(name):
        calendar.add("name", vText(clean_line(name)))  # RFC 7986
        calendar.add("x-wr-calname", vText(clean_line(name)))  # Apple, Google, Outlook
    if description and clean_text(description):
        calendar.add("description", vText(clean_text(description)))
        calendar.add("x-wr-caldesc", vText(clean_text(description)))
    if refresh_minutes:
        interval = timedelta(minutes=refresh_minutes)
        calendar.add("refresh-interval", interval, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(interval))
    head = calendar.to_ical()
    assert head.endswith(_END)
    return head[: -len(_END)]


def build_event_calendar(
    event: Event,
    *,
    method: str | None = None,
    with_sessions: bool = False,
    base_url: str | None = None,
    attendee: Attendee | None = None,
    variant: Variant = PUBLIC,
    now: datetime | None = None,
    settings: CalendarSettings | None = None,
    private: bool = False,
) -> bytes:
    """One event as a calendar: a download, or with METHOD:REQUEST / METHOD:CANCEL an
    email attachment (iTIP, RFC 5546: ORGANIZER always, ATTENDEE when given). An iTIP
    message goes to one person, so it is always `private` (holds the join link)."""
    settings = _settings(base_url, settings)
    if method not in (None, "PUBLISH", "REQUEST", "CANCEL"):
        raise ValueError(f"unsupported METHOD {method!r}")
    if method in ("REQUEST", "CANCEL"):
        variant = Variant(variant.status, variant.summary_prefix, show_online_url=True)
        private = True
    sessions = list(event.sessions) if with_sessions else []
    items = [(event.timezone, event.starts_at, event.ends_at)]
    items += [(event.timezone, s.starts_at, s.ends_at) for s in sessions]
    zones = {} if event.is_all_day and not sessions else vtimezone.zone_spans(items)
    head = _calendar_head(
        method=method, name=None, description=None, refresh_minutes=None, zones=zones
    )
    stamp = (now or datetime.now(UTC)) if method else None
    component = event_component(
        event,
        settings,
        variant=variant,
        method=method,
        attendee=attendee,
        stamp=stamp,
        private=private,
    )
    parts = [component.to_ical()]
    parts += [session_component(s, event, settings, variant=variant).to_ical() for s in sessions]
    return head + b"".join(parts) + _END


def build_feed(
    events: Sequence[Event | FeedEvent],
    *,
    name: str,
    base_url: str | None = None,
    description: str | None = None,
    variants: Mapping[int, Variant] | None = None,
    refresh_minutes: int | None = None,
    settings: CalendarSettings | None = None,
    private: bool = False,
) -> bytes:
    """A subscribable calendar of many events (no METHOD), with NAME, refresh hints and
    one VTIMEZONE per zone used (the UTC one when it has no event, so it is never an
    empty VCALENDAR). `variants` maps event ids to how they appear; only a `private`
    feed (a person's own, an organisation's members') shows join links."""
    settings = _settings(base_url, settings)
    variants = variants or {}
    items = [e if isinstance(e, FeedEvent) else FeedEvent.from_event(e) for e in events]
    zones = vtimezone.zone_spans(
        (e.timezone, e.starts_at, e.ends_at) for e in items if not e.is_all_day
    )
    head = _calendar_head(
        method=None,
        name=name,
        description=description,
        refresh_minutes=refresh_minutes or settings.refresh_minutes,
        zones=zones,
        empty=not items,
    )
    words = current_words()
    body = b"".join(
        _cached_vevent(event, settings, variants.get(event.id, PUBLIC), words, private)
        for event in items
    )
    return head + body + _END


# --- one registrant's invitation (iTIP) ----------------------------------------------------


def build_registrant_invitation(
    event: Event,
    *,
    method: str,
    attendee: Attendee,
    sequence: int,
    now: datetime,
    base_url: str | None = None,
) -> bytes:
    """The METHOD:REQUEST or METHOD:CANCEL calendar sent to one registrant (RFC 5546),
    with that person's own SEQUENCE: a registration cancelled and made again must carry
    a higher SEQUENCE each time, whatever the event's revision (the caller computes it).
    STATUS is the event's (iTIP), never the registration's."""
    # A FeedEvent carries every field of one VEVENT without sessions, and its revision
    # (the SEQUENCE) can be replaced without touching the ORM event.
    own = FeedEvent.from_event(event)._replace(revision=sequence)
    return build_event_calendar(
        own,
        method=method,
        attendee=attendee,
        now=now,
        base_url=base_url,
    )
