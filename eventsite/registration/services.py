"""Registration rules: who gets a place, the waiting list, approval, answers, cancelling.

Every function that reads the places left and then writes (register, cancel, promote,
approve, reject) first locks the event row on PostgreSQL (SELECT ... FOR UPDATE). On
SQLite the view starts the transaction with `eventsite.database.lock_for_write()`
(BEGIN IMMEDIATE) instead, which serialises writers for the whole database.

The waiting list is in the order places were decided, under that lock: by registration
id, which the INSERT takes under the lock (a sequence on PostgreSQL, the next rowid on
SQLite), not by `created_at`, the clock a request read before it waited for the lock. So
the number emailed to someone joining the list is their real place in it.

Answers are checked and shown in `answers`; the emails these rules send are in `notifications`;
the reading rules (places taken, questions, waiting-list ranks) are in `queries`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import format_number, ngettext
from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from eventsite import templating
from eventsite.accounts.models import User
from eventsite.database import is_postgresql
from eventsite.errors import DomainError
from eventsite.events.models import Event, EventStatus
from eventsite.extensions import db
from eventsite.registration import answers as registration_answers  # `answers` is a parameter here
from eventsite.registration import notifications, queries
from eventsite.registration.models import (
    _ACTIVE_SQL,
    ACTIVE_STATUSES,
    Question,
    Registration,
    RegistrationStatus,
)

FEW_PLACES_LEFT = 10


class RegistrationError(DomainError):
    """A registration rule said no."""


# --- the state shown on the event page ---------------------------------------------------------


def local_moment(value: datetime, tz_name: str) -> str:
    """ "10 December 2026, 09:00 CET": a moment in the event's own zone, in words."""
    return (
        f"{templating.local_date(value, tz_name, 'long')}, "
        f"{templating.local_time(value, tz_name)} {templating.zone_label(value, tz_name)}"
    )


@dataclass(frozen=True)
class RegistrationState:
    can_register: bool  # show the button
    message: str  # why not, or how many places are left
    joins_waiting_list: bool = False
    requires_approval: bool = False

    @property
    def button_label(self) -> str:
        return _("Join the waiting list") if self.joins_waiting_list else _("Register")


def window_closed_reason(event: Event, now: datetime) -> str | None:
    """Why registration is closed whatever the places left, or None while it is open."""
    if event.status == EventStatus.CANCELLED:
        return _("This event has been cancelled")
    if event.status != EventStatus.PUBLISHED:
        return _("Registration is not open")
    if event.has_ended(now):
        return _("This event has ended")
    if event.registration_opens_at is not None and now < event.registration_opens_at:
        return _(
            "Registration opens on %(when)s",
            when=local_moment(event.registration_opens_at, event.timezone),
        )
    if event.registration_closes_at is not None and now >= event.registration_closes_at:
        return _("Registration closed")
    return None


def registration_state(
    event: Event, now: datetime, counts: queries.PlaceCounts
) -> RegistrationState:
    """Whether the event page shows Register, and the words next to it."""
    reason = window_closed_reason(event, now)
    if reason is not None:
        return RegistrationState(can_register=False, message=reason)
    approval = bool(event.requires_approval)
    left = queries.places_left(event, counts)
    if left is None:
        return RegistrationState(True, _("Registration open"), requires_approval=approval)
    if left == 0:
        if event.has_waiting_list:
            return RegistrationState(
                True, _("Waiting list open"), joins_waiting_list=True, requires_approval=approval
            )
        return RegistrationState(False, _("This event is full"))
    if left < FEW_PLACES_LEFT:
        message = ngettext("Only %(num)d place left", "Only %(num)d places left", left)
    else:
        message = ngettext("%(count)s place", "%(count)s places", left, count=format_number(left))
    return RegistrationState(True, message, requires_approval=approval)


# --- writing -----------------------------------------------------------------------------------


def _lock_event(event: Event) -> None:
    """Serialise writers of this event's places (PostgreSQL row lock; SQLite: see module)."""
    if is_postgresql():
        db.session.execute(
            select(Event)
            .where(Event.id == event.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )


def _refresh(registration: Registration) -> None:
    """Re-read the registration after taking the lock: another request may have changed it."""
    db.session.refresh(registration)


def _status_for_new_place(event: Event) -> RegistrationStatus:
    return RegistrationStatus.PENDING if event.requires_approval else RegistrationStatus.CONFIRMED


@dataclass(frozen=True)
class _Outlook:
    """What a registration decides on, read under the event lock in one statement."""

    counts: queries.PlaceCounts
    existing_id: int | None  # the person's active registration, if any


@functools.cache
def _outlook_statement() -> Select[Any]:
    """Built once per process: constructing this statement costs as much as running it."""
    r = Registration
    mine = (
        select(r.id)
        .where(
            r.event_id == bindparam("event_id"),
            r.user_id == bindparam("user_id"),
            r.status.in_(ACTIVE_STATUSES),
        )
        .limit(1)
        .scalar_subquery()
        .correlate(None)  # its own scan (by the unique index), not the outer rows
    )
    return select(
        func.count().filter(r.status == RegistrationStatus.CONFIRMED),
        func.count().filter(r.status == RegistrationStatus.PENDING),
        func.count().filter(r.status == RegistrationStatus.WAITLISTED),
        mine,
    ).where(r.event_id == bindparam("event_id"), r.status.in_(ACTIVE_STATUSES))


def _outlook(event: Event, user: User) -> _Outlook:
    """Places taken per status and the person's active registration, in one query (the
    event lock is held while it runs)."""
    row = db.session.execute(_outlook_statement(), {"event_id": event.id, "user_id": user.id}).one()
    return _Outlook(queries.PlaceCounts(row[0], row[1], row[2]), row[3])


@functools.cache
def _insert_statement(dialect: str) -> Any:
    """Built once per dialect: INSERT ... ON CONFLICT DO NOTHING RETURNING the row."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(Registration)
        .on_conflict_do_nothing(
            index_elements=[Registration.event_id, Registration.user_id],
            # Literally the index's predicate, so that PostgreSQL can infer the index.
            index_where=text(_ACTIVE_SQL),
        )
        .returning(Registration)
    )


def _insert_registration(values: Mapping[str, Any]) -> Registration | None:
    """INSERT the registration unless the person already has an active one (the partial
    unique index says so): None then. One statement, no savepoint."""
    stmt = _insert_statement("postgresql" if is_postgresql() else "sqlite")
    return db.session.scalars(stmt, [dict(values)]).first()


def register_attendee(
    user: User,
    event: Event,
    answers: Mapping[int, Any],
    now: datetime,
    *,
    questions: Sequence[Question] | None = None,
) -> Registration:
    """Register the person: a place while places remain, else the waiting list.

    An existing active registration is returned unchanged (a second submit shows it;
    its `created_at` tells it apart). `questions` saves reading them again when the
    caller has them (the event's active questions).

    Everything between the lock and the caller's commit holds up every other
    registration for the event, so it is kept to a few statements: the lock, one
    aggregate, the INSERT and the confirmation email's row.
    """
    if not user.is_verified:
        raise RegistrationError(
            _("Please confirm your email address before registering: use the link we sent you.")
        )
    _lock_event(event)
    outlook = _outlook(event, user)
    if outlook.existing_id is not None:
        return db.session.get_one(Registration, outlook.existing_id)
    counts = outlook.counts
    if counts.waitlisted and (queries.places_left(event, counts) or 0) > 0:
        # Places freed without promotion (e.g. capacity raised): the queue goes first.
        promote_waiting_list(event, now)
        outlook = _outlook(event, user)
        counts = outlook.counts
    state = registration_state(event, now, counts)
    if not state.can_register:
        raise RegistrationError(state.message)
    status = (
        RegistrationStatus.WAITLISTED if state.joins_waiting_list else _status_for_new_place(event)
    )
    if questions is None:
        questions = queries.questions_for_event(event)
    stored = registration_answers.build_answers(questions, answers)
    registration = _insert_registration(
        {
            "event_id": event.id,
            "user_id": user.id,
            "status": status,
            "answers": stored,
            "created_at": now,
            "updated_at": now,
        }
    )
    if registration is None:
        # The partial unique index: another request registered this person meanwhile.
        existing = queries.get_active_registration(event, user)
        if existing is None:
            raise RuntimeError("the registration conflicted with no active registration")
        return existing
    # Under the lock nobody else joined the list since the aggregate, and this row took
    # the highest id of the event: everyone waiting is ahead of it, and will stay ahead.
    rank = counts.waitlisted + 1 if status == RegistrationStatus.WAITLISTED else None
    notifications.notify(registration, "registration_confirmation", now, rank=rank)
    return registration


def promote_waiting_list(event: Event, now: datetime) -> list[Registration]:
    """Give free places to the waiting list, first come first served, while registration
    is open. The caller holds the event lock; runs in the caller's transaction."""
    if window_closed_reason(event, now) is not None:
        return []
    promoted: list[Registration] = []
    counts = queries.count_places(event)
    free = queries.places_left(event, counts)
    if free is None:
        free = counts.waitlisted  # the limit was lifted: everyone gets in
    if free <= 0 or counts.waitlisted == 0:
        return []
    waiting = db.session.scalars(
        select(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.WAITLISTED,
        )
        .order_by(Registration.id)  # the waiting list's order: see the module
        .limit(free)
        .options(joinedload(Registration.user))
    ).all()
    for registration in waiting:
        registration.status = _status_for_new_place(event)
        registration.promoted_at = now
        registration.updated_at = now
        promoted.append(registration)
    db.session.flush()
    for registration in promoted:
        notifications.notify(registration, "registration_promoted", now)
    return promoted


def promote_registration(registration: Registration, now: datetime) -> Registration:
    """An organiser gives a waiting person a place now, out of turn or after registration
    closed, as long as a place is free (the capacity is never exceeded). The others keep
    their order."""
    event = registration.event
    _lock_event(event)
    _refresh(registration)
    if registration.status != RegistrationStatus.WAITLISTED:
        raise RegistrationError(_("Only someone on the waiting list can be promoted."))
    free = queries.places_left(event, queries.count_places(event))
    if free is not None and free <= 0:
        raise RegistrationError(
            _("No place is free. Raise the number of places first, or wait for a cancellation.")
        )
    registration.status = RegistrationStatus.CONFIRMED
    registration.promoted_at = now
    registration.updated_at = now
    db.session.flush()
    notifications.notify_promoted(registration, now)
    return registration


def cancel_registration(
    registration: Registration, now: datetime, *, notify: bool = True
) -> list[Registration]:
    """Cancel; a freed place goes to the first person waiting, in the same transaction.

    Cancelling twice is harmless. Returns the registrations promoted.
    """
    event = registration.event
    _lock_event(event)
    _refresh(registration)
    if not registration.is_active:
        return []
    held_place = registration.holds_place
    previous_status = registration.status
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = now
    registration.updated_at = now
    db.session.flush()
    if notify:
        notifications.notify_cancelled(registration, previous_status, now)
    return promote_waiting_list(event, now) if held_place else []


def cancel_registrations_for_user(user: User, now: datetime) -> None:
    """Account deletion: cancel every active registration, freeing places (no emails to
    the departing person; people promoted are emailed). SQLite callers take
    `lock_for_write()` first."""
    active = db.session.scalars(
        select(Registration)
        .where(Registration.user_id == user.id, Registration.status.in_(ACTIVE_STATUSES))
        .order_by(Registration.id)
    ).all()
    for registration in active:
        cancel_registration(registration, now, notify=False)


def approve_registration(registration: Registration, now: datetime) -> Registration:
    """An organiser accepts a pending registration: it becomes confirmed."""
    _lock_event(registration.event)
    _refresh(registration)
    if registration.status != RegistrationStatus.PENDING:
        raise RegistrationError(
            _(
                "Only a registration awaiting approval can be approved (this one is %(status)s).",
                status=notifications.status_label(registration.status),
            )
        )
    registration.status = RegistrationStatus.CONFIRMED
    registration.decided_at = now
    registration.updated_at = now
    db.session.flush()
    notifications.notify(registration, "registration_approved", now)
    return registration


def reject_registration(registration: Registration, now: datetime) -> Registration:
    """An organiser declines a pending (or waiting) registration; its place is freed."""
    event = registration.event
    _lock_event(event)
    _refresh(registration)
    if registration.status not in (RegistrationStatus.PENDING, RegistrationStatus.WAITLISTED):
        raise RegistrationError(
            _(
                "Only a registration awaiting approval can be rejected (this one is %(status)s).",
                status=notifications.status_label(registration.status),
            )
        )
    held_place = registration.holds_place
    registration.status = RegistrationStatus.REJECTED
    registration.decided_at = now
    registration.updated_at = now
    db.session.flush()
    notifications.notify(registration, "registration_rejected", now)
    if held_place:
        promote_waiting_list(event, now)
    return registration


def can_edit_answers(registration: Registration, now: datetime) -> bool:
    return registration.is_active and now < registration.event.effective_edit_deadline()


def update_answers(
    registration: Registration, answers: Mapping[int, Any], now: datetime
) -> Registration:
    """Change the answers until the event's edit deadline (default: registration close)."""
    event = registration.event
    if not registration.is_active:
        raise RegistrationError(_("This registration is no longer active."))
    deadline = event.effective_edit_deadline()
    if now >= deadline:
        raise RegistrationError(
            _(
                "Answers could be changed until %(when)s.",
                when=local_moment(deadline, event.timezone),
            )
        )
    registration.answers = registration_answers.build_answers(
        queries.questions_for_event(event), answers, previous=registration.answers
    )
    registration.updated_at = now
    db.session.flush()
    return registration
