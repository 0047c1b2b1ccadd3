"""Whole iCalendar files from events: models in, RFC 5545 bytes out, icalendar the reference.

Pure: no database session, no request. A calendar is its head (written by icalendar once
per combination of properties), its VTIMEZONEs (vtimezone.py) and its VEVENTs (vevent.py)
joined, which is what `Calendar.to_ical()` writes for the same components. A feed's
VEVENTs are written lean and cached (keyed by everything they show).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from icalendar import Calendar, vDuration, vText

from eventsite.ical import content, vevent, vtimezone

if TYPE_CHECKING:
    from eventsite.events.models import Event

PRODID = "-//eventsite//eventsite calendars 1.0//EN"
_END = b"END:VCALENDAR\r\n"
# A feed with no event still holds one component (RFC 5545 3.6 wants at least one):
# the VTIMEZONE of UTC, which every client reads and none shows.
EMPTY_FEED_ZONE = "UTC"


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
    event: content.FeedEvent,
    settings: content.CalendarSettings,
    variant: content.Variant,
    words: content.Words,
    private: bool,
) -> bytes:
    key = (event, variant, settings, words, private)
    data = VEVENT_CACHE.get(key)
    if data is None:
        data = vevent.feed_vevent(event, settings, variant, words, private)
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
    if name and content.clean_line(name):
        calendar.add("name", vText(content.clean_line(name)))  # RFC 7986
        calendar.add("x-wr-calname", vText(content.clean_line(name)))  # Apple, Google, Outlook
    if description and content.clean_text(description):
        calendar.add("description", vText(content.clean_text(description)))
        calendar.add("x-wr-caldesc", vText(content.clean_text(description)))
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
    attendee: content.Attendee | None = None,
    variant: content.Variant = content.PUBLIC,
    now: datetime | None = None,
    settings: content.CalendarSettings | None = None,
    private: bool = False,
) -> bytes:
    """One event as a calendar: a download, or with METHOD:REQUEST / METHOD:CANCEL an
    email attachment (iTIP, RFC 5546: ORGANIZER always, ATTENDEE when given). An iTIP
    message goes to one person, so it is always `private` (holds the join link)."""
    if settings is None:
        settings = content.current_settings(base_url)
    if method not in (None, "PUBLISH", "REQUEST", "CANCEL"):
        raise ValueError(f"unsupported METHOD {method!r}")
    if method in ("REQUEST", "CANCEL"):
        variant = content.Variant(variant.status, variant.summary_prefix, show_online_url=True)
        private = True
    sessions = list(event.sessions) if with_sessions else []
    items = [(event.timezone, event.starts_at, event.ends_at)]
    items += [(event.timezone, s.starts_at, s.ends_at) for s in sessions]
    zones = {} if event.is_all_day and not sessions else vtimezone.zone_spans(items)
    head = _calendar_head(
        method=method, name=None, description=None, refresh_minutes=None, zones=zones
    )
    stamp = (now or datetime.now(UTC)) if method else None
    component = vevent.event_component(
        event,
        settings,
        variant=variant,
        method=method,
        attendee=attendee,
        stamp=stamp,
        private=private,
    )
    parts = [component.to_ical()]
    parts += [
        vevent.session_component(s, event, settings, variant=variant).to_ical() for s in sessions
    ]
    return head + b"".join(parts) + _END


def build_feed(
    events: Sequence[Event | content.FeedEvent],
    *,
    name: str,
    base_url: str | None = None,
    description: str | None = None,
    variants: Mapping[int, content.Variant] | None = None,
    refresh_minutes: int | None = None,
    settings: content.CalendarSettings | None = None,
    private: bool = False,
) -> bytes:
    """A subscribable calendar of many events (no METHOD), with NAME, refresh hints and
    one VTIMEZONE per zone used (the UTC one when it has no event, so it is never an
    empty VCALENDAR). `variants` maps event ids to how they appear; only a `private`
    feed (a person's own, an organisation's members') shows join links."""
    if settings is None:
        settings = content.current_settings(base_url)
    variants = variants or {}
    items = [
        e if isinstance(e, content.FeedEvent) else content.FeedEvent.from_event(e) for e in events
    ]
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
    words = content.current_words()
    body = b"".join(
        _cached_vevent(event, settings, variants.get(event.id, content.PUBLIC), words, private)
        for event in items
    )
    return head + body + _END


# --- one registrant's invitation (iTIP) ----------------------------------------------------


def build_registrant_invitation(
    event: Event,
    *,
    method: str,
    attendee: content.Attendee,
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
    own = content.FeedEvent.from_event(event)._replace(revision=sequence)
    return build_event_calendar(
        own,
        method=method,
        attendee=attendee,
        now=now,
        base_url=base_url,
    )
