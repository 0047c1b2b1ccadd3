"""Registration's scheduled work, run by `flask registrations expire-holds` and by every
round of the outbox worker: idempotent, each event in its own short transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from eventsite import database
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.registration import services
from eventsite.registration.models import ACTIVE_STATUSES, Registration


def release_expired_holds(now: datetime) -> int:
    """Release every place whose hold for an email confirmation ran out (their waiting
    lists move up, with emails to those promoted); returns how many were released.

    Each event is locked and committed on its own, so a sweep holds up one event's
    registrations at a time; a registration or confirmation that got there first (they
    release the same holds under the same lock) leaves nothing to do."""
    event_ids = list(
        db.session.scalars(
            select(Registration.event_id)
            .where(
                Registration.status.in_(ACTIVE_STATUSES),
                Registration.hold_expires_at <= now,
            )
            .distinct()
        )
    )
    db.session.rollback()  # end the read before each event's own write transaction
    released = 0
    for event_id in event_ids:
        database.lock_for_write()
        event = db.session.get(Event, event_id)
        if event is not None:
            released += len(services.expire_holds_of_event(event, now))
        db.session.commit()
    return released
