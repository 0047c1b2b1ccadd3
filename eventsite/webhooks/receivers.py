"""What registration and events tell us (eventsite/signals.py), queued for the
organisation's webhook endpoints in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsite import links, signals
from eventsite.timeutil import iso_or_none
from eventsite.webhooks import services
from eventsite.webhooks.models import EventType

if TYPE_CHECKING:
    from eventsite.events.models import Event
    from eventsite.registration.models import Registration


def event_data(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "slug": event.slug,
        "title": event.title,
        "status": event.status,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "timezone": event.timezone,
        "revision": event.revision,
        "cancellation_reason": event.cancellation_reason,
        "url": links.external_url("events.detail", slug=event.slug),
    }


def registration_data(registration: Registration) -> dict[str, Any]:
    user = registration.user
    return {
        "registration": {
            "id": registration.public_id,
            "status": registration.status,
            "attendee": {"name": user.name, "email": user.email},
            "answers": registration.answers,
            "created_at": registration.created_at.isoformat(),
            "updated_at": registration.updated_at.isoformat(),
            "cancelled_at": iso_or_none(registration.cancelled_at),
            "checked_in_at": iso_or_none(registration.checked_in_at),
            "is_held": registration.hold_expires_at is not None,
        },
        "event": event_data(registration.event),
    }


def _queue_registration(
    registration: Registration, event_type: EventType, now: datetime, **extra: Any
) -> None:
    services.queue(
        registration.event.organisation_id,
        event_type,
        lambda: registration_data(registration) | extra,
        now,
    )


@signals.registration_created.connect
def registration_created(registration: Registration, *, now: datetime) -> None:
    _queue_registration(registration, EventType.REGISTRATION_CREATED, now)


@signals.registration_changed.connect
def registration_changed(registration: Registration, *, change: str, now: datetime) -> None:
    _queue_registration(registration, EventType.REGISTRATION_CHANGED, now, change=change)


@signals.registration_cancelled.connect
def registration_cancelled(registration: Registration, *, now: datetime) -> None:
    _queue_registration(registration, EventType.REGISTRATION_CANCELLED, now)


@signals.registration_checked_in.connect
def registration_checked_in(registration: Registration, *, now: datetime) -> None:
    _queue_registration(registration, EventType.REGISTRATION_CHECKED_IN, now)


@signals.event_published.connect
def event_published(event: Event, *, now: datetime) -> None:
    services.queue(
        event.organisation_id, EventType.EVENT_PUBLISHED, lambda: {"event": event_data(event)}, now
    )


@signals.event_changed.connect
def event_changed(event: Event, *, changes: frozenset[str], now: datetime, **_kw: Any) -> None:
    services.queue(
        event.organisation_id,
        EventType.EVENT_CHANGED,
        lambda: {"event": event_data(event), "changes": sorted(changes)},
        now,
    )


@signals.event_cancelled.connect
def event_cancelled(event: Event, *, now: datetime) -> None:
    services.queue(
        event.organisation_id, EventType.EVENT_CANCELLED, lambda: {"event": event_data(event)}, now
    )
