"""schema.org Event data and Open Graph tags for an event page (pure: event in, dicts out)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from eventsite import markup, timeutil
from eventsite.events.models import Event, EventFormat
from eventsite.events.queries import event_speakers

SCHEMA = "https://schema.org/"
ATTENDANCE_MODES = {
    EventFormat.IN_PERSON: SCHEMA + "OfflineEventAttendanceMode",
    EventFormat.ONLINE: SCHEMA + "OnlineEventAttendanceMode",
    EventFormat.HYBRID: SCHEMA + "MixedEventAttendanceMode",
}


def event_description(event: Event, limit: int = 300) -> str:
    text = event.summary or markup.markdown_to_text(event.description)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _instant(event: Event, which: str) -> str:
    value = getattr(event, which)
    local = timeutil.to_local(value, event.timezone)
    if event.is_all_day:
        if which == "ends_at":  # stored end is the exclusive midnight after the last day
            local = timeutil.to_local(value - timedelta(seconds=1), event.timezone)
        return local.date().isoformat()
    return local.isoformat(timespec="seconds")


def _place(event: Event) -> dict[str, Any]:
    address = {"@type": "PostalAddress"}
    if event.venue_address:
        address["streetAddress"] = event.venue_address
    if event.city:
        address["addressLocality"] = event.city
    if event.country:
        address["addressCountry"] = event.country
    place: dict[str, Any] = {
        "@type": "Place",
        "name": event.venue_name or event.city or event.title,
        "address": address,
    }
    if event.latitude is not None and event.longitude is not None:
        place["geo"] = {
            "@type": "GeoCoordinates",
            "latitude": event.latitude,
            "longitude": event.longitude,
        }
    return place


def event_schema(
    event: Event, *, url: str, organisation_url: str, image_url: str | None = None
) -> dict[str, Any]:
    """The schema.org Event description of one public event; `image_url`: its cover (or
    its organisation's logo), absolute."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event.title,
        "description": event_description(event),
        "url": url,
        "startDate": _instant(event, "starts_at"),
        "endDate": _instant(event, "ends_at"),
        "eventStatus": SCHEMA + ("EventCancelled" if event.is_cancelled else "EventScheduled"),
        "eventAttendanceMode": ATTENDANCE_MODES.get(
            EventFormat(event.format), ATTENDANCE_MODES[EventFormat.IN_PERSON]
        ),
        "organizer": {
            "@type": "Organization",
            "name": event.organisation.name,
            "url": event.organisation.website or organisation_url,
        },
    }
    # The join link is for registrants only: the public page stands for the online place.
    virtual = {"@type": "VirtualLocation", "url": url}
    if event.format == EventFormat.ONLINE:
        data["location"] = virtual
    elif event.format == EventFormat.HYBRID:
        data["location"] = [_place(event), virtual]
    else:
        data["location"] = _place(event)
    performers = [
        {"@type": "Person", "name": speaker.name}
        | ({"affiliation": speaker.affiliation} if speaker.affiliation else {})
        for speaker in event_speakers(event)
    ]
    if performers:
        data["performer"] = performers
    if image_url:
        data["image"] = [image_url]
    if event.topics:
        data["keywords"] = ", ".join(topic.name for topic in event.topics)
    return data


def open_graph(event: Event, *, url: str, site_name: str) -> dict[str, str]:
    """Open Graph properties (og:*) for link previews."""
    return {
        "og:type": "website",
        "og:site_name": site_name,
        "og:title": event.title,
        "og:description": event_description(event, 200),
        "og:url": url,
    }
