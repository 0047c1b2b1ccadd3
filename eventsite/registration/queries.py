"""Registration reading rules: places taken and left, questions, registrations, ranks.

Read only: nothing here locks, writes or sends an email (the writing rules are in `services`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Select,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy import inspect as sa_inspect

from eventsite import catalogue, database, timeutil
from eventsite.accounts.models import User
from eventsite.events.cards import CardFacts
from eventsite.events.listing import PUBLIC_STATUSES
from eventsite.events.models import Event, EventStatus
from eventsite.extensions import db
from eventsite.registration.models import (
    ACTIVE_STATUSES,
    Question,
    Registration,
    RegistrationStatus,
)


@dataclass(frozen=True)
class PlaceCounts:
    confirmed: int = 0
    pending: int = 0
    waitlisted: int = 0

    @property
    def taken(self) -> int:
        return self.confirmed + self.pending


def count_places(event: Event, now: datetime) -> PlaceCounts:
    """The active registrations per status, holds that ran out by `now` left out (the
    next write on the event, or the sweep, releases them)."""
    return count_places_by_event([event], now)[event.id]


# A direct read names each id (`id0`, `id1`, ...): its SQL is made once per number of
# events, up to a page's worth and then some.
MAX_DIRECT_IDS = 100


def count_places_by_event(
    events: Iterable[Event | CardFacts], now: datetime
) -> dict[int, PlaceCounts]:
    """`count_places` for many events (the listing's cards): {event id: counts}, an event
    without active registrations included.

    Read from the events' rows, where the database counts them (`events.places_*`, kept by
    triggers on registrations): one short read whatever the number of registrations. An
    event with holds is counted from its registrations instead, the holds that ran out by
    `now` left out (the row does not know when a hold ends)."""
    ids = [event.id for event in events]
    if not ids:
        return {}
    counts: dict[int, PlaceCounts] = {event_id: PlaceCounts() for event_id in ids}
    with_holds = []
    for event_id, confirmed, pending, waitlisted, held in _read_places(
        "places on rows", _counted_on_rows, ids, {}
    ):
        if held:
            with_holds.append(event_id)
        else:
            counts[event_id] = PlaceCounts(confirmed, pending, waitlisted)
    if with_holds:
        by_event: dict[int, dict[str, int]] = {event_id: {} for event_id in with_holds}
        for event_id, status, n in _read_places(
            "places", _counted_from_registrations, with_holds, {"now": now}
        ):
            by_event[event_id][str(status)] = n
        for event_id, found in by_event.items():
            counts[event_id] = PlaceCounts(
                confirmed=found.get(RegistrationStatus.CONFIRMED, 0),
                pending=found.get(RegistrationStatus.PENDING, 0),
                waitlisted=found.get(RegistrationStatus.WAITLISTED, 0),
            )
    return counts


# The ids a statement below is for: a bind parameter each (a direct read's), or one
# expanding parameter `ids`.
Ids = list[BindParameter[Any]] | BindParameter[Any]


def _read_places(
    key: str, statement: Callable[[Ids], Select[Any]], ids: list[int], params: dict[str, Any]
) -> Iterable[Sequence[Any]]:
    """Columns, no entities: straight from the driver where nothing was read before (a
    listing's cards, `database.read_directly`), else on the session's connection without
    the ORM's result machinery (pending changes flushed: the triggers have counted them)."""
    if database.can_read_directly() and len(ids) <= MAX_DIRECT_IDS:
        names = {f"id{n}": event_id for n, event_id in enumerate(ids)}
        return database.read_directly(
            (key, len(ids)),
            lambda: statement([bindparam(name) for name in names]),
            {**names, **params},
        )
    connection = database.flushed_connection()
    return connection.execute(_expanding(statement), {"ids": ids, **params}).all()


@functools.cache
def _expanding(statement: Callable[[Ids], Select[Any]]) -> Select[Any]:
    """Built once per process (constructing it cost as much as running it)."""
    return statement(bindparam("ids", expanding=True))


def _counted_on_rows(ids: Ids) -> Select[Any]:
    return select(
        Event.id,
        Event.places_confirmed,
        Event.places_pending,
        Event.places_waitlisted,
        Event.places_held,
    ).where(Event.id.in_(ids))


def _counted_from_registrations(ids: Ids) -> Select[Any]:
    return (
        select(Registration.event_id, Registration.status, func.count())
        .where(
            Registration.event_id.in_(ids),
            database.in_constants(Registration.status, ACTIVE_STATUSES),
            or_(
                Registration.hold_expires_at.is_(None),
                Registration.hold_expires_at > bindparam("now"),
            ),
        )
        .group_by(Registration.event_id, Registration.status)
    )


# Longer than a change can take from its `now` (the request's clock, which `updated_at`
# gets) to its commit, plus how far two servers' clocks may be apart: no request outlives
# gunicorn's --timeout (30 s; DATABASE_STATEMENT_TIMEOUT bounds a lock wait to 10 s).
RECENT_CHANGE_SECONDS = 45


def listing_stamp() -> list[Any]:
    """What the listing's cards read of the registrations, for the page cache's key of the
    pages that show cards: the newest registration, the latest change to any (every
    service that changes a registration sets `updated_at`), the recent changes, and the
    holds run out.

    The latest change alone misses a change committed behind a later one: `updated_at` is
    the request's clock, read before it waited for its event's lock, on a server whose
    clock may be behind another's. So the registrations changed in the last
    RECENT_CHANGE_SECONDS (the database's clock) are summed too, each as its id weighted
    by its status: a late commit brings a row into the sum or changes the weight of one in
    it. It reads the rows changed in that time: nothing on a quiet site; 0.4 ms for 1,000,
    9 ms for 10,000 (PostgreSQL, 1,000,000 registrations)."""
    registrations = Registration.__table__
    weight = case(
        *(
            (registrations.c.status == database.sql_constant(status), literal_column(str(n)))
            for n, status in enumerate(RegistrationStatus, start=1)
        ),
        else_=literal_column("0"),
    )
    recent = registrations.c.updated_at >= timeutil.database_time_ago(RECENT_CHANGE_SECONDS)
    return [
        select(func.max(registrations.c.id)).scalar_subquery(),
        select(func.max(registrations.c.updated_at)).scalar_subquery(),
        select(func.sum(registrations.c.id * weight)).where(recent).scalar_subquery(),
        # Holds run out by now (the database's clock) free places before anything
        # releases them: read from the small hold index.
        select(func.count())
        .where(
            registrations.c.hold_expires_at <= func.current_timestamp(),
            database.in_constants(registrations.c.status, ACTIVE_STATUSES),
        )
        .scalar_subquery(),
    ]


def event_page_stamp() -> list[Any]:
    """What `count_places` reads, for the page cache's key of the event page: the event's
    registrations counted by active status, found by the page's `slug`. One scalar
    subquery each, read from the (event_id, status, created_at) index; any registration,
    cancellation, approval or promotion changes one of them. And the holds run out by
    now (the database's clock), which `count_places` leaves out: the page changes the
    moment one runs out, before anything releases it."""
    registrations = Registration.__table__
    events = Event.__table__
    event_id = select(events.c.id).where(events.c.slug == bindparam("slug")).scalar_subquery()
    return [
        *(
            select(func.count())
            .where(
                registrations.c.event_id == event_id,
                registrations.c.status == database.sql_constant(status),
            )
            .scalar_subquery()
            for status in ACTIVE_STATUSES
        ),
        select(func.count())
        .where(
            registrations.c.event_id == event_id,
            database.in_constants(registrations.c.status, ACTIVE_STATUSES),
            registrations.c.hold_expires_at <= func.current_timestamp(),
        )
        .scalar_subquery(),
    ]


def places_left(event: Event | CardFacts, counts: PlaceCounts) -> int | None:
    """Free places, or None when the event has no limit."""
    if event.capacity is None:
        return None
    return max(event.capacity - counts.taken, 0)


# An event's questions (their columns), by event and `include_removed`, kept while the
# catalogue's stamp stays the same (Question is tracked: models.py): every registration form
# and submission asks for them, and they change only when the organisers edit the form.
_questions: catalogue.VersionedMemo[tuple[dict[str, Any], ...]] = catalogue.VersionedMemo(1024)


def questions_for_event(event: Event, *, include_removed: bool = False) -> list[Question]:
    if database.can_read_directly():
        # The registration form's questions, straight from the driver (`read_directly`), or
        # kept from an earlier request when this one has read the catalogue's stamp with
        # its event (no query then).
        stamp = catalogue.known_request_stamp()
        key = (event.id, include_removed)
        if stamp is None:
            rows = _question_values(*key)
        else:
            rows = _questions.get(stamp, key, functools.partial(_question_values, *key))
        # A list of its own for each question's options: the kept values are never touched.
        return [database.adopt(Question, {**row, "options": list(row["options"])}) for row in rows]
    return list(db.session.scalars(_questions_statement(include_removed), {"event_id": event.id}))


def _question_values(event_id: int, include_removed: bool) -> tuple[dict[str, Any], ...]:
    rows = database.read_directly(
        ("questions", include_removed),
        functools.partial(_question_rows_statement, include_removed),
        {"event_id": event_id},
    )
    keys = _question_keys()
    return tuple(dict(zip(keys, row, strict=True)) for row in rows)


@functools.cache
def _question_keys() -> tuple[str, ...]:
    return tuple(prop.key for prop in sa_inspect(Question).column_attrs)


def _question_rows_statement(include_removed: bool) -> Select[Any]:
    columns = [getattr(Question, key) for key in _question_keys()]
    return _questions_statement(include_removed).with_only_columns(*columns)


@functools.cache
def _questions_statement(include_removed: bool) -> Select[tuple[Question]]:
    """Built once per process (every registration form reads them)."""
    stmt = select(Question).where(Question.event_id == bindparam("event_id"))
    if not include_removed:
        stmt = stmt.where(Question.is_active.is_(True))
    return stmt.order_by(Question.position, Question.id)


def get_active_registration(event: Event, user: User) -> Registration | None:
    return db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id,
            Registration.user_id == user.id,
            database.in_constants(Registration.status, ACTIVE_STATUSES),
        )
    )


@functools.cache
def _on_event_page_statement() -> Select[tuple[Registration]]:
    """Built once per process: constructing it cost as much as running it (0.2 of 0.4 ms)."""
    return (
        select(Registration)
        .join(Registration.event)
        .where(
            Event.slug == bindparam("slug"),
            database.in_constants(Event.status, PUBLIC_STATUSES),
            Registration.user_id == bindparam("user_id"),
            database.in_constants(Registration.status, ACTIVE_STATUSES),
        )
    )


def get_active_registration_on_event_page(slug: str, user: User) -> Registration | None:
    """`user`'s active registration for the published or cancelled event at `slug`, found
    by the event's address: one query for the event page's registration box of someone
    registered (the kept page's hole), where the event's own row is read otherwise.
    Straight from the driver where nothing was read before it (`database.read_directly`:
    through the ORM the query cost more than the rest of the box)."""
    params = {"slug": slug, "user_id": user.id}
    if not database.can_read_directly():
        return db.session.scalar(_on_event_page_statement(), params)
    rows = database.read_directly(
        "registration-on-event-page", _on_event_page_row_statement, params
    )
    if not rows:
        return None
    return database.adopt(Registration, dict(zip(_registration_keys(), rows[0], strict=True)))


@functools.cache
def _registration_keys() -> tuple[str, ...]:
    return tuple(prop.key for prop in sa_inspect(Registration).column_attrs)


def _on_event_page_row_statement() -> Select[Any]:
    """`_on_event_page_statement`'s registration as columns, for a direct read."""
    columns = [getattr(Registration, key) for key in _registration_keys()]
    return _on_event_page_statement().with_only_columns(*columns)


def active_registrations_for_event(event: Event) -> Select[tuple[Registration]]:
    """Everyone who is registered, waiting or awaiting approval, first come first."""
    return (
        select(Registration)
        .where(
            Registration.event_id == event.id,
            database.in_constants(Registration.status, ACTIVE_STATUSES),
        )
        .order_by(Registration.id)
    )


def waitlist_rank(registration: Registration) -> int | None:
    """1 for the first person on the waiting list; None when not waitlisted.

    The list is in the order places were decided: by id, which the INSERT takes under the
    event's lock (see `services`), never by `created_at`."""
    if registration.status != RegistrationStatus.WAITLISTED:
        return None
    ahead = db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.event_id == registration.event_id,
            Registration.status == RegistrationStatus.WAITLISTED,
            Registration.id < registration.id,
        )
    )
    return int(ahead or 0) + 1


def waitlist_ranks(registrations: Iterable[Registration | ListedRegistration]) -> dict[int, int]:
    """Ranks of many waitlisted registrations (any events) in one query: {id: rank}."""
    event_ids = {r.event_id for r in registrations if r.status == RegistrationStatus.WAITLISTED}
    if not event_ids:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=Registration.event_id,
            order_by=Registration.id,
        )
        .label("rank")
    )
    ranked = (
        select(Registration.id, rank)
        .where(
            Registration.event_id.in_(event_ids),
            Registration.status == RegistrationStatus.WAITLISTED,
        )
        .subquery()
    )
    wanted = [r.id for r in registrations if r.status == RegistrationStatus.WAITLISTED]
    rows = db.session.execute(
        select(ranked.c.id, ranked.c.rank).where(ranked.c.id.in_(wanted))
    ).all()
    return {row_id: int(row_rank) for row_id, row_rank in rows}


@dataclass(frozen=True, slots=True)
class ListedEvent:
    """An event as a person's list of registrations shows it ("My events")."""

    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    is_all_day: bool
    status: EventStatus

    @property
    def is_cancelled(self) -> bool:
        return self.status == EventStatus.CANCELLED

    def has_ended(self, now: datetime) -> bool:
        return self.ends_at <= now


@dataclass(frozen=True, slots=True)
class ListedRegistration:
    """A registration as a person's list shows it, with its event."""

    id: int
    public_id: str
    event_id: int
    status: RegistrationStatus
    event: ListedEvent


@functools.cache
def _for_user_statement() -> Select[Any]:
    """Built once per process (constructing it cost as much as running it)."""
    return (
        select(
            Registration.id,
            Registration.public_id,
            Registration.event_id,
            Registration.status,
            Event.title,
            Event.starts_at,
            Event.ends_at,
            Event.timezone,
            Event.is_all_day,
            Event.status.label("event_status"),
        )
        .join(Registration.event)
        .where(Registration.user_id == bindparam("user_id"))
        .order_by(Event.starts_at.desc(), Registration.id.desc())
    )


def registrations_for_user(user: User) -> list[ListedRegistration]:
    """The person's registrations with their events, newest event first, for "My events":
    one join, only the columns it shows, read as plain rows (the ORM's objects cost twice
    the query), straight from the driver where nothing was read before it
    (`database.read_directly`)."""
    params = {"user_id": user.id}
    if database.can_read_directly():
        rows = database.read_directly("registrations-for-user", _for_user_statement, params)
    else:
        rows = list(database.flushed_connection().execute(_for_user_statement(), params))
    return [
        ListedRegistration(
            id=row_id,
            public_id=public_id,
            event_id=event_id,
            status=status,
            event=ListedEvent(title, starts_at, ends_at, timezone, is_all_day, event_status),
        )
        for (
            row_id,
            public_id,
            event_id,
            status,
            title,
            starts_at,
            ends_at,
            timezone,
            is_all_day,
            event_status,
        ) in rows
    ]
