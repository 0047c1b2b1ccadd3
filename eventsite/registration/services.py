"""Registration rules: who gets a place, the waiting list, approval, answers, cancelling.

Every function that reads the places left and then writes (register, cancel, promote,
approve, reject) first locks the event row on PostgreSQL (SELECT ... FOR UPDATE). On
SQLite the view starts the transaction with `eventsite.database.lock_for_write()`
(BEGIN IMMEDIATE) instead, which serialises writers for the whole database.

The waiting list is in the order places were decided, under that lock: by registration
id, which the INSERT takes under the lock (a sequence on PostgreSQL, the next rowid on
SQLite), not by `created_at`, the clock a request read before it waited for the lock. So
the number emailed to someone joining the list is their real place in it.

Which action a registration allows, and when an event takes registrations, are pure rules in
`rules`: these services ask them and refuse with `rules.RegistrationError`. Answers are checked
and shown in `answers`; the emails these rules send are in `notifications`; the reading rules
(places taken, questions, waiting-list ranks) are in `queries`; the form's questions in
`questions`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, inspect, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from eventsite import database, signals
from eventsite.accounts.models import User
from eventsite.database import is_postgresql
from eventsite.events.models import Event, EventStatus
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.mail import services as mail
from eventsite.registration import answers as registration_answers  # `answers` is a parameter here
from eventsite.registration import notifications, queries, rules, tickets
from eventsite.registration.models import (
    _ACTIVE_SQL,
    ACTIVE_STATUSES,
    Question,
    Registration,
    RegistrationStatus,
)

# --- writing -----------------------------------------------------------------------------------


# The event's columns that decide what a registration may do (the window, the places, the
# status it gets, the hold), and its last change: checked under the lock.
_DECIDING = (
    Event.status,
    Event.capacity,
    Event.has_waiting_list,
    Event.requires_approval,
    Event.registration_opens_at,
    Event.registration_closes_at,
    Event.edit_deadline_at,
    Event.starts_at,
    Event.ends_at,
    Event.timezone,
    Event.confirmation_hold_hours,
    Event.updated_at,
)


# The places the database counts on the event's row (triggers on registrations: see
# `models.PLACES_DDL`), read with the deciding columns under the lock.
_PLACES = (
    Event.places_confirmed,
    Event.places_pending,
    Event.places_waitlisted,
    Event.places_held,
)


@functools.cache
def _deciding_statement(for_update: bool) -> Select[Any]:
    statement = select(*_DECIDING, *_PLACES).where(Event.id == bindparam("event_id"))
    return statement.with_for_update() if for_update else statement


def _lock_event(event: Event, now: datetime, *, expire: bool = True) -> list[Registration]:
    """Serialise writers of this event's places (PostgreSQL row lock; SQLite: see module),
    then release the holds that ran out, so every write sees only the places really taken
    (`expire` False: the caller looks for them itself). Returns the registrations released.

    The event as the request read it before the lock (`lock_for_write(keep_loaded=True)`)
    is checked against its row, which the lock now holds still: when the organiser changed
    what decides (`_DECIDING`) meanwhile, the event is read again. One narrow read, where
    reading the whole event again every time took longer than the rest of the INSERT."""
    loaded = inspect(event).dict
    if is_postgresql() or any(column.key in loaded for column in _DECIDING):
        _read_deciding(event)
    return _expire_holds(event, now) if expire else []


def _lock_and_count(event: Event) -> queries.PlaceCounts | None:
    """`_lock_event` without releasing holds, and the places taken as the event's row
    counts them; None when some of the event's registrations are holds, whose end the row
    does not know (the caller counts the registrations then)."""
    places = _read_deciding(event)
    confirmed, pending, waitlisted, held = places
    if held:
        return None
    return queries.PlaceCounts(confirmed=confirmed, pending=pending, waitlisted=waitlisted)


def _read_deciding(event: Event) -> Sequence[int]:
    """The deciding columns under the lock (the event read again if they moved since the
    request read it), and the places counted on its row."""
    postgresql_lock = is_postgresql()
    (row,) = database.read_in_session(
        ("deciding", postgresql_lock),
        functools.partial(_deciding_statement, postgresql_lock),
        {"event_id": event.id},
    )
    loaded = inspect(event).dict
    if any(
        column.key in loaded and loaded[column.key] != value
        for column, value in zip(_DECIDING, row, strict=False)
    ):
        db.session.refresh(event)
    return row[len(_DECIDING) :]


def _expire_holds(event: Event, now: datetime) -> list[Registration]:
    """Cancel the event's held registrations whose hold ran out (never confirmed); their
    places go to the waiting list like a cancellation's. The caller holds the event lock.
    No email: the person never confirmed the address it would go to."""
    expired = list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event.id,
                database.in_constants(Registration.status, ACTIVE_STATUSES),
                Registration.hold_expires_at <= now,
            )
            .order_by(Registration.id)
        )
    )
    freed = any(r.holds_place for r in expired)
    for registration in expired:
        registration.status = RegistrationStatus.CANCELLED
        registration.is_hold_expired = True
        registration.cancelled_at = now
        registration.updated_at = now
    if expired:
        db.session.flush()
    if freed:
        promote_waiting_list(event, now)
    return expired


def expire_holds_of_event(event: Event, now: datetime) -> list[Registration]:
    """The periodic sweep's step for one event (`jobs`): lock it, which releases its holds
    that ran out. Returns the registrations released. SQLite callers take
    `lock_for_write()` first."""
    return _lock_event(event, now)


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
    expired_holds: int  # active registrations whose hold ran out: to release first


@functools.cache
def _outlook_statement() -> Select[Any]:
    """Built once per process: constructing this statement costs as much as running it."""
    r = Registration
    mine = (
        select(r.id)
        .where(
            r.event_id == bindparam("event_id"),
            r.user_id == bindparam("user_id"),
            database.in_constants(r.status, ACTIVE_STATUSES),
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
        func.count().filter(r.hold_expires_at <= bindparam("now")),
    ).where(r.event_id == bindparam("event_id"), database.in_constants(r.status, ACTIVE_STATUSES))


def _outlook(event: Event, user: User, now: datetime) -> _Outlook:
    """Places taken per status, the person's active registration and the holds that ran
    out, in one query (the event lock is held while it runs)."""
    (row,) = database.read_in_session(
        "outlook", _outlook_statement, {"event_id": event.id, "user_id": user.id, "now": now}
    )
    return _Outlook(queries.PlaceCounts(row[0], row[1], row[2]), row[3], row[4])


@functools.cache
def _insert_statement(dialect: str) -> Any:
    """Built once per dialect: INSERT ... ON CONFLICT DO NOTHING RETURNING the row's id
    (the table's, not the ORM's bulk INSERT of the entity, which cost more than the
    statement itself under the event's lock; the other columns are what it wrote)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Registration.__table__
    return (
        database.insert_of_every_column(table, insert)
        .on_conflict_do_nothing(
            index_elements=[table.c.event_id, table.c.user_id],
            # Literally the index's predicate, so that PostgreSQL can infer the index.
            index_where=text(_ACTIVE_SQL),
        )
        .returning(table.c.id)
    )


def _insert_registration(values: Mapping[str, Any]) -> Registration | None:
    """INSERT the registration unless the person already has an active one (the partial
    unique index says so): None then. One statement, no savepoint. The row it wrote, with
    the id it was given, becomes the session's Registration as if it had been read."""
    dialect = "postgresql" if is_postgresql() else "sqlite"
    row = database.insert_row_in_session(
        ("registration", dialect),
        functools.partial(_insert_statement, dialect),
        Registration.__table__,
        values,
    )
    return None if row is None else database.adopt(Registration, row)


def _count_releasing_holds(
    event: Event, user: User, now: datetime
) -> queries.PlaceCounts | Registration:
    """The places taken counted from the registrations, after releasing the holds that ran
    out and giving free places to the waiting list; or the person's active registration."""
    outlook = _outlook(event, user, now)
    if outlook.expired_holds:
        _expire_holds(event, now)
        outlook = _outlook(event, user, now)
    if outlook.existing_id is not None:
        return db.session.get_one(Registration, outlook.existing_id)
    counts = outlook.counts
    if counts.waitlisted and (queries.places_left(event, counts) or 0) > 0:
        # Places freed without promotion (e.g. capacity raised): the queue goes first.
        promote_waiting_list(event, now)
        counts = _outlook(event, user, now).counts
    return counts


def register_attendee(
    user: User,
    event: Event,
    answers: Mapping[int, Any],
    now: datetime,
    *,
    questions: Sequence[Question] | None = None,
    hold: bool = False,
) -> Registration:
    """Register the person: a place while places remain, else the waiting list.

    `hold`: the person has yet to confirm their email address (a visitor who registered
    without an account, or with an unconfirmed one). The place is taken now, by the same
    rules, and held until `confirmation_hold_hours` from now; nobody is emailed about it
    here (the caller sends the link that confirms it: `holds`).

    An existing active registration is returned unchanged (a second submit shows it;
    its `created_at` tells it apart). `questions` saves reading them again when the
    caller has them (the event's active questions).

    Everything between the lock and the caller's commit holds up every other
    registration for the event, so it is kept to a few statements: the lock (which reads
    the places taken, counted on the event's row by the database: no aggregate unless the
    event has holds), the INSERT (which carries the confirmation email's facts:
    `pending_notice`) and the webhook endpoints. The answers and the email's address are
    checked before the lock; the sender moves the email to the outbox and writes it after
    the commit (`notifications.queue_pending_notices`).
    """
    if not user.is_verified and not hold:
        raise rules.RegistrationError(
            _("Please confirm your email address before registering: use the link we sent you.")
        )
    # Checked and normalised before the lock: nothing in them depends on the places.
    if questions is None:
        questions = queries.questions_for_event(event)
    stored = registration_answers.build_answers(questions, answers)
    if not hold:
        mail.check_recipient(user.email)  # the confirmation's address (the verdict is kept)
    counts = _lock_and_count(event)
    if counts is None or (counts.waitlisted and (queries.places_left(event, counts) or 0) > 0):
        # Holds (some may have run out), or places freed without promotion (e.g. capacity
        # raised): count, release, promote.
        counts = _count_releasing_holds(event, user, now)
        if isinstance(counts, Registration):
            return counts
    state = rules.registration_state(event, now, counts)
    if not state.can_register:
        # The person may have registered before it closed or filled: that registration.
        existing = queries.get_active_registration(event, user)
        if existing is not None:
            return existing
        raise rules.RegistrationError(state.message)
    status = (
        RegistrationStatus.WAITLISTED if state.joins_waiting_list else _status_for_new_place(event)
    )
    # Under the lock nobody else joined the list since the places were read, and this row
    # takes the highest id of the event: everyone waiting is ahead of it, and stays ahead.
    rank = counts.waitlisted + 1 if status == RegistrationStatus.WAITLISTED else None
    registration = _insert_registration(
        {
            "event_id": event.id,
            "user_id": user.id,
            "status": status,
            "answers": stored,
            "created_at": now,
            "updated_at": now,
            "hold_expires_at": (
                now + timedelta(hours=event.confirmation_hold_hours) if hold else None
            ),
            # The confirmation email, written with the row (a held place gets it later).
            "pending_notice": (
                None if hold else notifications.confirmation_notice(status, now, rank=rank)
            ),
        }
    )
    if registration is None:
        # The partial unique index: another request registered this person meanwhile.
        existing = queries.get_active_registration(event, user)
        if existing is None:
            raise RuntimeError("the registration conflicted with no active registration")
        return existing
    signals.registration_created.send(registration, now=now)
    if not hold:
        notifications.notice_pending(registration.id)
    return registration


def confirm_held_registration(registration: Registration, now: datetime) -> Registration:
    """The person confirmed their email address: the held place is theirs for good, and
    they get the email a registration sends (confirmation, waiting list or approval).
    RegistrationError when the hold ran out, or was confirmed already."""
    event = registration.event
    _lock_event(event, now)
    _refresh(registration)
    if registration.is_hold_expired:
        raise rules.RegistrationError(
            _(
                "We held this place until %(when)s; it has been released. You can register again.",
                when=rules.local_moment(registration.hold_expires_at or now, event.timezone),
            )
        )
    if not registration.is_held:
        raise rules.RegistrationError(_("This registration is already confirmed."))
    registration.hold_expires_at = None
    registration.updated_at = now
    db.session.flush()
    signals.registration_changed.send(registration, change="confirmed", now=now)
    notifications.notify(registration, "registration_confirmation", now)
    return registration


def promote_waiting_list(event: Event, now: datetime) -> list[Registration]:
    """Give free places to the waiting list, first come first served, while registration
    is open. The caller holds the event lock; runs in the caller's transaction."""
    if not rules.window(event, now).is_open:
        return []
    promoted: list[Registration] = []
    counts = queries.count_places(event, now)
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
        signals.registration_changed.send(registration, change="promoted", now=now)
        # A held place keeps its hold: its person hears when they confirm the address.
        if registration.hold_expires_at is None:
            notifications.notify(registration, "registration_promoted", now)
    return promoted


# --- an organiser's decisions (the transition table is rules.allowed_actions) -------------------


def _locked(registration: Registration, action: rules.Action, now: datetime) -> Event:
    """Lock the event, re-read the registration (another request may have changed it while
    this one waited) and check that the action is still allowed."""
    event = registration.event
    _lock_event(event, now)
    _refresh(registration)
    rules.require(action, registration)
    return event


def promote_registration(registration: Registration, now: datetime) -> Registration:
    """An organiser gives a waiting person a place now, out of turn or after registration
    closed, as long as a place is free (the capacity is never exceeded). The others keep
    their order."""
    event = _locked(registration, rules.Action.PROMOTE, now)
    free = queries.places_left(event, queries.count_places(event, now))
    if free is not None and free <= 0:
        raise rules.RegistrationError(
            _("No place is free. Raise the number of places first, or wait for a cancellation.")
        )
    registration.status = RegistrationStatus.CONFIRMED
    registration.promoted_at = now
    registration.updated_at = now
    db.session.flush()
    signals.registration_changed.send(registration, change="promoted", now=now)
    notifications.notify_promoted(registration, now)
    return registration


def cancel_registration(
    registration: Registration,
    now: datetime,
    *,
    notify: bool = True,
    by_organiser: bool = False,
    reason: str = "",
) -> list[Registration]:
    """Cancel (the person, or an organiser: `by_organiser`, which changes the email's
    words and adds the organiser's `reason`); a freed place goes to the first person
    waiting, in the same transaction. Returns the registrations promoted."""
    _locked(registration, rules.Action.CANCEL, now)
    return _cancel(registration, now, notify=notify, by_organiser=by_organiser, reason=reason)


def _cancel(
    registration: Registration,
    now: datetime,
    *,
    notify: bool,
    by_organiser: bool = False,
    reason: str = "",
) -> list[Registration]:
    """Cancel an active registration; the caller holds the event lock."""
    held_place = registration.holds_place
    previous_status = registration.status
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = now
    registration.cancelled_by_organiser = by_organiser
    registration.updated_at = now
    db.session.flush()
    signals.registration_cancelled.send(registration, now=now)
    if notify:
        notifications.notify_cancelled(
            registration, previous_status, now, by_organiser=by_organiser, reason=reason
        )
    return promote_waiting_list(registration.event, now) if held_place else []


def cancel_registrations_for_user(user: User, now: datetime) -> None:
    """Account deletion: cancel every active registration, freeing places (no emails to
    the departing person; people promoted are emailed). SQLite callers take
    `lock_for_write()` first."""
    active = db.session.scalars(
        select(Registration)
        .where(
            Registration.user_id == user.id,
            database.in_constants(Registration.status, ACTIVE_STATUSES),
        )
        .order_by(Registration.id)
    ).all()
    for registration in active:
        _lock_event(registration.event, now)
        _refresh(registration)
        if rules.can(rules.Action.CANCEL, registration):  # not cancelled meanwhile
            _cancel(registration, now, notify=False)


def approve_registration(registration: Registration, now: datetime) -> Registration:
    """An organiser accepts a pending registration: it becomes confirmed."""
    _locked(registration, rules.Action.APPROVE, now)
    registration.status = RegistrationStatus.CONFIRMED
    registration.decided_at = now
    registration.updated_at = now
    db.session.flush()
    signals.registration_changed.send(registration, change="approved", now=now)
    notifications.notify(registration, "registration_approved", now)
    return registration


def reject_registration(
    registration: Registration, now: datetime, *, reason: str = ""
) -> Registration:
    """An organiser declines a pending registration (the email gives their `reason`);
    its place goes to the waiting list."""
    event = _locked(registration, rules.Action.REJECT, now)
    registration.status = RegistrationStatus.REJECTED
    registration.decided_at = now
    registration.updated_at = now
    db.session.flush()
    signals.registration_changed.send(registration, change="rejected", now=now)
    notifications.notify(registration, "registration_rejected", now, reason=reason)
    promote_waiting_list(event, now)
    return registration


def restore_registration(registration: Registration, now: datetime) -> Registration:
    """Undo an organiser's cancellation while its place is still free: the person gets a
    place again (awaiting approval if the event approves and they never were approved),
    and is told, with a calendar invitation when the place is confirmed. Refused when the
    place went to someone else, or the person has registered again meanwhile.

    The place comes back as a new registration (same answers, same registration time,
    the cancelled one stays in the history and can no longer be restored): a calendar
    already holds the CANCEL sent for the old one, and only a registration of its own has
    room for a REQUEST above it (`notifications.invitation_sequence`). Returns it."""
    event = _locked(registration, rules.Action.RESTORE, now)
    if event.status != EventStatus.PUBLISHED:
        raise rules.RegistrationError(_("The event is not open: nobody can be given a place."))
    outlook = _outlook(event, registration.user, now)
    if outlook.existing_id is not None:
        raise rules.RegistrationError(
            _("This person has registered again: their new registration is the one to keep.")
        )
    left = queries.places_left(event, outlook.counts)
    if left is not None and left <= 0:
        raise rules.RegistrationError(
            _(
                "The place is no longer free: it went to someone else. "
                "Raise the number of places first."
            )
        )
    approved = registration.decided_at is not None or not event.requires_approval
    registration.cancelled_by_organiser = False  # its undo is spent
    registration.updated_at = now
    restored = Registration(
        event=event,
        user=registration.user,
        status=RegistrationStatus.CONFIRMED if approved else RegistrationStatus.PENDING,
        answers=dict(registration.answers),
        created_at=registration.created_at,
        updated_at=now,
        decided_at=registration.decided_at,
        hold_expires_at=registration.hold_expires_at,
    )
    db.session.add(restored)
    db.session.flush()
    signals.registration_changed.send(restored, change="restored", now=now)
    notifications.notify(restored, "registration_restored", now)
    return restored


def check_in(registration: Registration, now: datetime, *, by: User | None = None) -> Registration:
    """The person has arrived (`by`: the door staff). Places do not change: no event lock.

    One conditional UPDATE (only while not checked in and the ticket is valid), so two
    door devices checking the same person in at once make one check-in: the second finds
    no row to change and is told when and by whom the first was made."""
    if registration.checked_in_at is None:
        reason = tickets.invalid_reason(registration)
        if reason is not None:
            raise rules.RegistrationError(reason)
        changed = db.session.execute(
            update(Registration)
            .where(
                Registration.id == registration.id,
                Registration.checked_in_at.is_(None),
                Registration.status == RegistrationStatus.CONFIRMED,
                Registration.hold_expires_at.is_(None),
            )
            .values(checked_in_at=now, checked_in_by_id=by.id if by else None, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.refresh(registration)
        if changed:
            signals.registration_checked_in.send(registration, now=now)
            return registration
    if registration.checked_in_at is None:  # changed meanwhile: cancelled, say
        raise rules.RegistrationError(
            tickets.invalid_reason(registration) or _("This registration cannot be checked in.")
        )
    raise rules.AlreadyCheckedInError(registration)


# How long door staff may take back their own check-in ("undo" on the door page); the
# registrants table may undo any check-in.
DOOR_UNDO_WINDOW = timedelta(minutes=2)


def undo_check_in(
    registration: Registration, now: datetime, *, within: timedelta | None = None
) -> Registration:
    """A check-in made by mistake is taken back; with `within`, only one that recent."""
    rules.require(rules.Action.UNDO_CHECK_IN, registration)
    checked_in_at = registration.checked_in_at
    if within is not None and checked_in_at is not None and now - checked_in_at > within:
        raise rules.RegistrationError(
            _("This check-in is too old to undo here; the registrants table can undo it.")
        )
    registration.checked_in_at = None
    registration.checked_in_by_id = None
    registration.updated_at = now
    db.session.flush()
    signals.registration_changed.send(registration, change="check_in_undone", now=now)
    return registration


# --- the person's answers ------------------------------------------------------------------------


def can_edit_answers(registration: Registration, now: datetime) -> bool:
    return registration.is_active and now < registration.event.effective_edit_deadline()


def update_answers(
    registration: Registration, answers: Mapping[int, Any], now: datetime
) -> Registration:
    """Change the answers until `Event.effective_edit_deadline()` (the edit deadline the
    organiser set, else registration's closing time, else the event's start)."""
    event = registration.event
    if not registration.is_active:
        raise rules.RegistrationError(_("This registration is no longer active."))
    deadline = event.effective_edit_deadline()
    if now >= deadline:
        raise rules.RegistrationError(
            _(
                "Answers could be changed until %(when)s.",
                when=rules.local_moment(deadline, event.timezone),
            )
        )
    registration.answers = registration_answers.build_answers(
        queries.questions_for_event(event), answers, previous=registration.answers
    )
    registration.updated_at = now
    db.session.flush()
    signals.registration_changed.send(registration, change="answers", now=now)
    return registration
