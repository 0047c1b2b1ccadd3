"""Domain objects as the API's JSON: plain dicts in the shapes of `schemas`. Times are in
the event's own zone with their offset, next to the IANA zone's name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for

from eventsite import timeutil
from eventsite.events import queries as event_queries
from eventsite.events.models import AgendaSession, Event, Speaker, Topic
from eventsite.organisations.models import Organisation
from eventsite.registration import queries as registration_queries
from eventsite.registration import rules as registration_rules


def local_time(value: datetime | None, zone: str) -> datetime | None:
    return timeutil.to_local(value, zone) if value is not None else None


def topic(topic: Topic) -> dict[str, Any]:
    return {
        "slug": topic.slug,
        "name": topic.name,
        "description": topic.description,
        "url": url_for("events.topic", slug=topic.slug, _external=True),
    }


def organisation(organisation: Organisation) -> dict[str, Any]:
    return {
        "slug": organisation.slug,
        "name": organisation.name,
        "description": organisation.description,
        "website": organisation.website,
        "url": url_for("events.organisation", slug=organisation.slug, _external=True),
    }


def registration_state(
    event: Event, counts: registration_queries.PlaceCounts, now: datetime
) -> dict[str, Any]:
    """The registration box in numbers, from the same rules as the event page."""
    window = registration_rules.window(event, now)
    state = registration_rules.registration_state(event, now, counts)
    return {
        "state": window.state.value,
        "is_open": state.can_register,
        "message": state.message,
        "capacity": event.capacity,
        "places_left": registration_queries.places_left(event, counts),
        "confirmed": counts.confirmed,
        "pending": counts.pending,
        "waitlisted": counts.waitlisted,
        "has_waiting_list": bool(event.has_waiting_list),
        "requires_approval": bool(event.requires_approval),
        "opens_at": local_time(event.registration_opens_at, event.timezone),
        "closes_at": local_time(event.registration_closes_at, event.timezone),
    }


def event_summary(
    event: Event, counts: registration_queries.PlaceCounts, now: datetime
) -> dict[str, Any]:
    """An event as the listing shows it. Never its online link: that is for the people
    registered, on their own pages."""
    zone = event.timezone
    return {
        "slug": event.slug,
        "title": event.title,
        "kind": str(event.kind),
        "format": str(event.format),
        "status": str(event.status),
        "summary": event.summary,
        "starts_at": local_time(event.starts_at, zone),
        "ends_at": local_time(event.ends_at, zone),
        "timezone": zone,
        "is_all_day": bool(event.is_all_day),
        "venue_name": event.venue_name,
        "venue_address": event.venue_address,
        "city": event.city,
        "country": event.country or None,
        "latitude": event.latitude,
        "longitude": event.longitude,
        "cancellation_reason": event.cancellation_reason if event.is_cancelled else "",
        "organisation": {
            "slug": event.organisation.slug,
            "name": event.organisation.name,
            "url": url_for("events.organisation", slug=event.organisation.slug, _external=True),
        },
        "topics": [{"slug": t.slug, "name": t.name} for t in event.topics],
        "registration": registration_state(event, counts, now),
        "url": url_for("events.detail", slug=event.slug, _external=True),
        "ics_url": url_for("feeds.event_ics", slug=event.slug, _external=True),
        "api_url": url_for("public_api.event", slug=event.slug, _external=True),
    }


def speaker(speaker: Speaker) -> dict[str, Any]:
    return {
        "id": speaker.id,
        "name": speaker.name,
        "affiliation": speaker.affiliation,
        "country": speaker.country or None,
        "honours": speaker.honours,
        "bio": speaker.bio,
    }


def agenda_session(session: AgendaSession, zone: str) -> dict[str, Any]:
    return {
        "id": session.id,
        "title": session.title,
        "starts_at": local_time(session.starts_at, zone),
        "ends_at": local_time(session.ends_at, zone),
        "room": session.room,
        "description": session.description,
        "speaker_ids": [s.id for s in session.speakers],
    }


def event_detail(
    event: Event, counts: registration_queries.PlaceCounts, now: datetime
) -> dict[str, Any]:
    sessions = [
        s for _day, day_sessions in event_queries.agenda_by_day(event) for s in day_sessions
    ]
    return {
        **event_summary(event, counts, now),
        "description": event.description,
        "agenda": [agenda_session(s, event.timezone) for s in sessions],
        "speakers": [speaker(s) for s in event_queries.event_speakers(event)],
    }
