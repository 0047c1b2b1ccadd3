"""Registration's scheduled work, run by `flask registrations expire-holds` and
`send-reminders` and by every round of the outbox worker: idempotent, each event (or batch
of its registrants) in its own short transaction, safe for any number of workers at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload

from eventsite import database
from eventsite.events.models import MAX_REMINDER_HOURS, Event, EventStatus
from eventsite.extensions import db
from eventsite.registration import notifications, services
from eventsite.registration.models import (
    ACTIVE_STATUSES,
    Registration,
    RegistrationStatus,
    ReminderKind,
    SentReminder,
)

# Registrants reminded per transaction: a worker holds its claims (and SQLite's write lock)
# only while it renders this many emails.
REMINDER_BATCH = 100


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
                database.in_constants(Registration.status, ACTIVE_STATUSES),
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


def send_reminders(now: datetime) -> int:
    """Queue the reminder of every confirmed registrant (not held, waiting, pending or
    cancelled) of each published event whose reminder time has come and that has not
    started; returns how many were queued.

    Each reminder is claimed by a row in sent_reminders, unique per registration, kind and
    the event's start, inserted in the transaction that queues its email: two workers never
    send one twice, a crash loses none, and an event moved to a new start gets a new
    reminder when its new reminder time comes (if the event is still ahead)."""
    due = db.session.execute(
        select(Event.id, Event.starts_at, Event.reminder_hours).where(
            Event.status == EventStatus.PUBLISHED,
            Event.reminder_hours > 0,
            Event.starts_at > now,
            Event.starts_at <= now + timedelta(hours=MAX_REMINDER_HOURS),
        )
    ).all()
    db.session.rollback()  # end the read before the batches' own write transactions
    queued = 0
    for event_id, starts_at, hours in due:
        if now < starts_at - timedelta(hours=hours):
            continue
        while (count := _remind_batch(event_id, starts_at, now)) is not None:
            queued += count
    return queued


def _remind_batch(event_id: int, starts_at: datetime, now: datetime) -> int | None:
    """Claim and queue the reminders of up to REMINDER_BATCH registrants still without one;
    None when none is left (or the event changed since it was found due)."""
    database.lock_for_write()
    event = db.session.get(Event, event_id)
    if event is None or event.status != EventStatus.PUBLISHED or event.starts_at != starts_at:
        db.session.rollback()
        return None
    sent = select(SentReminder.id).where(
        SentReminder.registration_id == Registration.id,
        SentReminder.kind == ReminderKind.BEFORE_EVENT,
        SentReminder.starts_at == starts_at,
    )
    ids = list(
        db.session.scalars(
            select(Registration.id)
            .where(
                Registration.event_id == event_id,
                Registration.status == RegistrationStatus.CONFIRMED,
                Registration.hold_expires_at.is_(None),
                ~exists(sent),
            )
            .order_by(Registration.id)
            .limit(REMINDER_BATCH)
        )
    )
    if not ids:
        db.session.rollback()
        return None
    claim = database.insert_or_skip(SentReminder.__table__).returning(
        SentReminder.__table__.c.registration_id
    )
    rows = [
        {
            "registration_id": registration_id,
            "kind": ReminderKind.BEFORE_EVENT.value,
            "starts_at": starts_at,
            "sent_at": now,
        }
        for registration_id in ids
    ]
    claimed = list(db.session.scalars(claim.values(rows)))
    registrations = db.session.scalars(
        select(Registration)
        .options(joinedload(Registration.user))
        .where(Registration.id.in_(claimed))
        .order_by(Registration.id)
    ).all()
    for registration in registrations:
        notifications.notify_reminder(registration, now)
    db.session.commit()
    return len(registrations)
