"""One event as a VEVENT: an icalendar `Event` component (`event_component`), and the
same bytes written lean for feeds (`feed_vevent`); agenda sessions as their own VEVENTs.

Pure: no database session, no request; what an event shows (its times, place, title,
description, status) and how text is cleaned are content.py's. Downloads and invitations
are written by icalendar (`to_ical()`: CRLF, folding, TEXT escaping). A feed may hold ten
thousand events, too many for icalendar to write cold (see `feed_vevent`), so a feed's
VEVENTs are written as strings by `feed_vevent`, byte for byte the component's `to_ical()`
(a test holds them to it).

Multi-day timed events stay one VEVENT from start to end (not one per day): the UID,
SEQUENCE and iTIP messages of an invitation are the event's, and one VEVENT per day would
split every update and cancellation into many; the agenda's sessions (`?sessions=1`) are
the per-day view for people who want their nights free.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from icalendar import Event as VEvent
from icalendar import vCalAddress, vGeo, vUri

from eventsite.i18n import gettext as _
from eventsite.ical import content, lines
from eventsite.markup import markdown_to_text

if TYPE_CHECKING:
    from eventsite.events.models import AgendaSession, Event


class _Geo(vGeo):
    """icalendar's GEO value written with geo_float (its own writes repr(float))."""

    def to_ical(self) -> str:
        return content.geo_value(self.latitude, self.longitude) or ""


def _organizer(organisation_name: str | None, settings: content.CalendarSettings) -> vCalAddress:
    address = vCalAddress(f"mailto:{settings.organizer_email}")
    address.params["CN"] = content.clean_cn(organisation_name or "") or settings.uid_domain
    return address


def _organisation_name(event: Event | content.FeedEvent) -> str | None:
    if isinstance(event, content.FeedEvent):
        return event.organisation_name
    return event.organisation.name if event.organisation else None


def _topic_names(event: Event | content.FeedEvent) -> tuple[str, ...]:
    if isinstance(event, content.FeedEvent):
        return event.topic_names
    return tuple(topic.name for topic in event.topics)


def event_component(
    event: Event | content.FeedEvent,
    settings: content.CalendarSettings,
    *,
    variant: content.Variant = content.PUBLIC,
    method: str | None = None,
    attendee: content.Attendee | None = None,
    stamp: datetime | None = None,
    words: content.Words | None = None,
    private: bool = False,
) -> VEvent:
    """The VEVENT of one event. Without a METHOD, DTSTAMP is the event's last change
    (RFC 5545 3.8.7.2), so the same data always gives the same bytes. Only a `private`
    output holds the online join link (DESCRIPTION, URL and RFC 7986 CONFERENCE)."""
    words = words or content.current_words()
    url = content.event_url(event, settings.base_url)
    start, end = content.event_times(event)
    component = VEvent()
    component.add("uid", content.event_uid(event, settings))
    component.add("dtstamp", (stamp or event.updated_at).astimezone(UTC))
    component.add("created", event.created_at.astimezone(UTC))
    component.add("last-modified", event.updated_at.astimezone(UTC))
    component.add("sequence", event.revision or 0)
    component.add("dtstart", start)
    component.add("dtend", end)
    component.add("summary", content.summary(event, variant, method, words))
    component.add("description", content.event_description(event, variant, url, words, private))
    online_url = content.online_url(event, variant, private)
    # Online events: the join link is what a calendar's link button should open.
    component.add("url", vUri(online_url or url))
    if online_url:
        component.add(
            "conference",
            vUri(online_url),
            parameters={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": content.clean_cn(words.join)},
        )
    location = content.clean_line(content.event_location(event, words))
    if location:
        component.add("location", location)
    if content.geo_value(event.latitude, event.longitude) is not None:
        component.add("geo", _Geo((event.latitude, event.longitude)))
    topic_names = _topic_names(event)
    categories = [name for name in map(content.clean_line, topic_names) if name]
    if categories:
        component.add("categories", categories)
    component.add("organizer", _organizer(_organisation_name(event), settings))
    component.add(
        "status", "CANCELLED" if method == "CANCEL" else content.event_status(event, variant)
    )
    # Busy, all-day events too: a three-day summit is not "free" (Outlook, Google).
    component.add("transp", "OPAQUE")
    if attendee is not None:
        address = vCalAddress(f"mailto:{attendee.email}")
        if content.clean_cn(attendee.name):
            address.params["CN"] = content.clean_cn(attendee.name)
        address.params["ROLE"] = "REQ-PARTICIPANT"
        address.params["PARTSTAT"] = attendee.partstat
        address.params["RSVP"] = "FALSE"  # the organiser address does not read replies
        component.add("attendee", address)
    return component


def session_component(
    session: AgendaSession,
    event: Event,
    settings: content.CalendarSettings,
    *,
    variant: content.Variant = content.PUBLIC,
) -> VEvent:
    """One agenda session, linked to its event by RELATED-TO (RELTYPE=PARENT)."""
    words = content.current_words()
    url = content.event_url(event, settings.base_url)
    component = VEvent()
    component.add("uid", content.session_uid(session, settings))
    component.add("dtstamp", session.updated_at.astimezone(UTC))
    component.add("created", session.created_at.astimezone(UTC))
    component.add("last-modified", session.updated_at.astimezone(UTC))
    component.add("sequence", event.revision or 0)
    component.add("dtstart", content.wall(session.starts_at, event.timezone))
    component.add("dtend", content.wall(session.ends_at, event.timezone))
    component.add(
        "summary",
        content.clean_line(f"{content.summary(event, variant, None, words)}: {session.title}"),
    )
    parts = []
    speakers = ", ".join(content.clean_line(speaker.name) for speaker in session.speakers)
    if speakers:
        parts.append(_("Speakers: %(names)s", names=speakers))
    body = markdown_to_text(session.description)
    if body:
        parts.append(body)
    parts.append(url)
    component.add("description", content.clean_text("\n\n".join(parts)))
    component.add("url", vUri(url))
    places = (
        content.clean_line(session.room),
        content.clean_line(content.event_location(event, words)),
    )
    location = ", ".join(place for place in places if place)
    if location:
        component.add("location", location)
    component.add(
        "related-to", content.event_uid(event, settings), parameters={"RELTYPE": "PARENT"}
    )
    component.add("organizer", _organizer(_organisation_name(event), settings))
    component.add("status", content.event_status(event, variant))
    return component


# --- the feeds' lean VEVENT writer --------------------------------------------------------


def feed_vevent(
    event: Event | content.FeedEvent,
    settings: content.CalendarSettings,
    variant: content.Variant,
    words: content.Words,
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
    are content.py's (`summary`, `event_description`, `event_times`...),
    escaped and folded as icalendar does (lines.py), and whatever icalendar decides
    by many rules (parameter quoting, TZID) is still decided by icalendar, once per
    value. tests/ical/test_lean_vevents.py holds every byte to `event_component`'s
    `to_ical()`; change both together. Properties in icalendar's order: its canonical
    ones, then by name."""
    url = content.event_url(event, settings.base_url)
    start, end = content.event_times(event)
    changed = lines.utc_stamp(event.updated_at)
    parts = [
        "BEGIN:VEVENT",
        lines.text_line("SUMMARY", content.summary(event, variant, None, words)),
        lines.fold(lines.date_line("DTSTART", start)),
        lines.fold(lines.date_line("DTEND", end)),
        "DTSTAMP:" + changed,
        lines.text_line("UID", content.event_uid(event, settings)),
        f"SEQUENCE:{event.revision or 0}",
    ]
    categories = _categories_line(_topic_names(event))
    if categories:
        parts.append(categories)
    online_url = content.online_url(event, variant, private)
    if online_url:
        label = content.clean_cn(words.join)
        parameters = lines.parameters((("FEATURE", "VIDEO"), ("LABEL", label), ("VALUE", "URI")))
        parts.append(lines.fold(f"CONFERENCE;{parameters}:{online_url}"))
    parts.append("CREATED:" + lines.utc_stamp(event.created_at))
    parts.append(
        lines.text_line(
            "DESCRIPTION", content.event_description(event, variant, url, words, private)
        )
    )
    geo = content.geo_value(event.latitude, event.longitude)
    if geo is not None:
        parts.append("GEO:" + geo)
    parts.append("LAST-MODIFIED:" + changed)
    location = content.clean_line(content.event_location(event, words))
    if location:
        parts.append(lines.text_line("LOCATION", location))
    parts.append(_organizer_line(_organisation_name(event), settings))
    parts.append(lines.text_line("STATUS", content.event_status(event, variant)))
    parts.append("TRANSP:OPAQUE")
    parts.append(lines.fold("URL:" + (online_url or url)))
    parts.append("END:VEVENT\r\n")
    return "\r\n".join(parts).encode()


@lru_cache(maxsize=4096)
def _categories_line(topic_names: tuple[str, ...]) -> str:
    """CATEGORIES of feed_vevent, once per list of topics ("" when none is left)."""
    categories = [name for name in map(content.clean_line, topic_names) if name]
    if not categories:
        return ""
    return lines.fold("CATEGORIES:" + ",".join(map(lines.escape_text, categories)))


@lru_cache(maxsize=4096)
def _organizer_line(organisation_name: str | None, settings: content.CalendarSettings) -> str:
    """ORGANIZER of feed_vevent, once per organisation."""
    cn = content.clean_cn(organisation_name or "") or settings.uid_domain
    organizer = lines.parameters((("CN", cn),))
    return lines.fold(f"ORGANIZER;{organizer}:mailto:{settings.organizer_email}")
