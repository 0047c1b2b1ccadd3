"""iCalendar files from events: models in, RFC 5545 bytes out, written with `icalendar`.

Pure: no database session, no request. The only looks outside the arguments are the app's
config (the UID domain and the organiser address) when the caller does not pass `settings`,
and the translated phrases of the request's language (`current_words`). Events are read by
attribute (an ORM `Event` or a `FeedEvent` row) and their status and format compared by
their stored string values, so this package imports no domain package.

One event (downloads, email attachments) is an icalendar `Event` component. A feed may
hold ten thousand events, and building a component costs ~0.3 ms each (type inference,
parameter objects, content-line objects), so feeds write each VEVENT's content lines
directly in icalendar's order, with icalendar's value types doing the escaping; the
tests check that both ways give the same bytes (`feed_vevent` == `event_component`).
Folding, escaping and single content lines are in lines.py, VTIMEZONEs in vtimezone.py.
"""

from __future__ import annotations

import math
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
from icalendar import Calendar, vCalAddress, vDuration, vGeo
from icalendar import Event as VEvent
from sqlalchemy import inspect as sa_inspect

from eventsite import timeutil
from eventsite.ical import lines, vtimezone
from eventsite.markup import markdown_to_text

if TYPE_CHECKING:
    from eventsite.events.models import AgendaSession, Event

PRODID = "-//eventsite//eventsite calendars 1.0//EN"
_END = b"END:VCALENDAR\r\n"
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


def current_words() -> Words:
    return Words(
        online=_("Online"),
        and_online=_("and online"),
        cancelled_prefix=_("Cancelled:"),
        cancelled_notice=_("This event is cancelled."),
        join_online=_("Join online: %(url)s"),
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
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        # The second 01:30 of a night when clocks go back: a TZID wall time means the
        # first one (RFC 5545 3.3.5), so say this instant in UTC instead.
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


def _organizer(organisation_name: str | None, settings: CalendarSettings) -> vCalAddress:
    address = vCalAddress(f"mailto:{settings.organizer_email}")
    address.params["CN"] = organisation_name or settings.uid_domain
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


def _event_description(event: Event | FeedEvent, variant: Variant, url: str, words: Words) -> str:
    parts: list[str] = []
    if event.status == CANCELLED:
        reason = (event.cancellation_reason or "").strip()
        parts.append(words.cancelled_notice + (f" {reason}" if reason else ""))
    if event.summary:
        parts.append(event.summary.strip())
    body = event.description_text if isinstance(event, FeedEvent) else plain_description(event)
    if body:
        parts.append(body)
    if variant.show_online_url and event.online_url:
        parts.append(words.join_online % {"url": event.online_url})
    parts.append(url)
    return "\n\n".join(parts)


def _summary(event: Event | FeedEvent, variant: Variant, method: str | None, words: Words) -> str:
    prefix = variant.summary_prefix
    # Feeds: say it in the title too, for clients that ignore STATUS (emails with
    # METHOD:CANCEL get the client's own "Cancelled:" prefix).
    if event.status == CANCELLED and method is None:
        prefix = f"{prefix}{words.cancelled_prefix} "
    return f"{prefix}{event.title}"


def event_component(
    event: Event | FeedEvent,
    settings: CalendarSettings,
    *,
    variant: Variant = PUBLIC,
    method: str | None = None,
    attendee: Attendee | None = None,
    stamp: datetime | None = None,
    words: Words | None = None,
) -> VEvent:
    """The VEVENT of one event. Without a METHOD, DTSTAMP is the event's last change
    (RFC 5545 3.8.7.2), so the same data always gives the same bytes."""
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
    component.add("description", _event_description(event, variant, url, words))
    component.add("url", url)
    location = event_location(event, words)
    if location:
        component.add("location", location)
    if geo_value(event.latitude, event.longitude) is not None:
        component.add("geo", _Geo((event.latitude, event.longitude)))
    topic_names = _topic_names(event)
    if topic_names:
        component.add("categories", list(topic_names))
    component.add("organizer", _organizer(_organisation_name(event), settings))
    component.add("status", "CANCELLED" if method == "CANCEL" else event_status(event, variant))
    component.add("transp", "TRANSPARENT" if event.is_all_day else "OPAQUE")
    if attendee is not None:
        address = vCalAddress(f"mailto:{attendee.email}")
        if attendee.name:
            address.params["CN"] = attendee.name
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
    component.add("summary", f"{_summary(event, variant, None, words)}: {session.title}")
    parts = []
    speakers = ", ".join(speaker.name for speaker in session.speakers)
    if speakers:
        parts.append(_("Speakers: %(names)s", names=speakers))
    body = markdown_to_text(session.description)
    if body:
        parts.append(body)
    parts.append(url)
    component.add("description", "\n\n".join(parts))
    component.add("url", url)
    location = ", ".join(p for p in (session.room.strip(), event_location(event, words)) if p)
    if location:
        component.add("location", location)
    component.add("related-to", event_uid(event, settings), parameters={"RELTYPE": "PARENT"})
    component.add("organizer", _organizer(_organisation_name(event), settings))
    component.add("status", event_status(event, variant))
    return component


# --- the lean VEVENT of feeds ----------------------------------------------------------------
# Here, not in lines.py: it shows what event_component shows, with the same helpers.


def _organizer_line(organisation_name: str | None, settings: CalendarSettings) -> str:
    return lines.icalendar_line(
        "organizer",
        f"mailto:{settings.organizer_email}",
        (("CN", organisation_name or settings.uid_domain),),
    )


def feed_vevent(
    event: FeedEvent, settings: CalendarSettings, variant: Variant, words: Words
) -> str:
    """The VEVENT of `event_component(event, ...)` (no METHOD, no ATTENDEE), written as
    text: properties in icalendar's order (its canonical ones, then by name), TEXT values
    escaped by icalendar's vText, parameters and shared lines (ORGANIZER, CATEGORIES)
    written by icalendar once per value; DATE-TIME, INTEGER, FLOAT and URI values are
    their RFC 5545 forms, as icalendar writes them. Lines end in CRLF."""
    url = event_url(event, settings.base_url)
    start, end = _event_times(event)
    location = event_location(event, words)
    changed = lines.utc_stamp(event.updated_at)
    content = [
        "BEGIN:VEVENT",
        lines.fold_line("SUMMARY:" + lines.text(_summary(event, variant, None, words))),
        lines.date_property("DTSTART", start),
        lines.date_property("DTEND", end),
        "DTSTAMP:" + changed,
        lines.fold_line("UID:" + lines.text(event_uid(event, settings))),
        f"SEQUENCE:{int(event.revision or 0)}",
    ]
    if event.topic_names:
        content.append(lines.icalendar_line("categories", event.topic_names))
    content.append("CREATED:" + lines.utc_stamp(event.created_at))
    content.append(
        lines.fold_line("DESCRIPTION:" + lines.text(_event_description(event, variant, url, words)))
    )
    geo = geo_value(event.latitude, event.longitude)
    if geo is not None:
        content.append("GEO:" + geo)
    content.append("LAST-MODIFIED:" + changed)
    if location:
        content.append(lines.fold_line("LOCATION:" + lines.text(location)))
    content.append(_organizer_line(event.organisation_name, settings))
    content.append("STATUS:" + event_status(event, variant))
    content.append("TRANSP:TRANSPARENT" if event.is_all_day else "TRANSP:OPAQUE")
    content.append(lines.fold_line("URL:" + url))
    content.append("END:VEVENT\r\n")
    return "\r\n".join(content)


# --- the per-event serialisation cache ---------------------------------------------------


class _VeventCache:
    """LRU of serialised VEVENTs. The key is the FeedEvent itself (every value shown),
    the variant, the settings and the phrases' language, so an edit simply makes a new
    key; entries of old versions age out."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> str | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: str) -> None:
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
    event: FeedEvent, settings: CalendarSettings, variant: Variant, words: Words
) -> str:
    key = (event, variant, settings, words)
    text = VEVENT_CACHE.get(key)
    if text is None:
        text = feed_vevent(event, settings, variant, words)
        VEVENT_CACHE.put(key, text)
    return text


# --- whole calendars ---------------------------------------------------------------------


def _calendar_head(
    *,
    method: str | None,
    name: str | None,
    description: str | None,
    refresh_minutes: int | None,
    zones: Mapping[str, vtimezone.YearSpans],
) -> bytes:
    zone_parts = [vtimezone.vtimezone_bytes(tz, zones[tz]) for tz in sorted(zones)]
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
    if name:
        calendar.add("name", name)  # RFC 7986
        calendar.add("x-wr-calname", name)  # Apple, Google, Outlook
    if description:
        calendar.add("description", description)
        calendar.add("x-wr-caldesc", description)
    if refresh_minutes:
        interval = timedelta(minutes=refresh_minutes)
        calendar.add("refresh-interval", interval, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(interval))
    head = lines.to_ical(calendar)
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
) -> bytes:
    """One event as a calendar: a download, or with METHOD:REQUEST / METHOD:CANCEL an
    email attachment (iTIP, RFC 5546: ORGANIZER always, ATTENDEE when given)."""
    settings = _settings(base_url, settings)
    if method not in (None, "PUBLISH", "REQUEST", "CANCEL"):
        raise ValueError(f"unsupported METHOD {method!r}")
    if method in ("REQUEST", "CANCEL"):
        variant = Variant(variant.status, variant.summary_prefix, show_online_url=True)
    sessions = list(event.sessions) if with_sessions else []
    items = [(event.timezone, event.starts_at, event.ends_at)]
    items += [(event.timezone, s.starts_at, s.ends_at) for s in sessions]
    zones = {} if event.is_all_day and not sessions else vtimezone.zone_spans(items)
    head = _calendar_head(
        method=method, name=None, description=None, refresh_minutes=None, zones=zones
    )
    stamp = (now or datetime.now(UTC)) if method else None
    parts = [
        lines.to_ical(
            event_component(
                event, settings, variant=variant, method=method, attendee=attendee, stamp=stamp
            )
        )
    ]
    parts += [
        lines.to_ical(session_component(s, event, settings, variant=variant)) for s in sessions
    ]
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
) -> bytes:
    """A subscribable calendar of many events (no METHOD), with NAME, refresh hints and
    one VTIMEZONE per zone used. `variants` maps event ids to how they appear."""
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
    )
    words = current_words()
    body = "".join(
        _cached_vevent(event, settings, variants.get(event.id, PUBLIC), words) for event in items
    )
    return head + body.encode() + _END


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
