"""The door: how many have arrived, the list a door device keeps to work offline, and the
check-ins a device made offline, applied when it is back online (the earliest one wins).

Checking one person in online is `services.check_in` (one conditional UPDATE); this module
reads for the door page and settles what offline devices bring back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from eventsite import templating
from eventsite.accounts.models import User
from eventsite.database import is_postgresql
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.registration import rules, services, tickets
from eventsite.registration.models import CheckInDuplicate, Registration, RegistrationStatus
from eventsite.timeutil import iso_or_none

# The most check-ins one sync may carry (a device offline through a whole morning at a
# big event's door stays well below).
MAX_SYNC_ITEMS = 2000
# The longest a device's offline check-in may be back in time (a clock set to 1970 would
# otherwise make its check-in the first forever).
MAX_OFFLINE = timedelta(days=7)


@dataclass(frozen=True)
class Arrivals:
    checked_in: int
    expected: int  # confirmed places with a valid ticket
    duplicates: int  # second check-ins offline devices brought back


def arrivals(event: Event) -> Arrivals:
    """The count door mode shows ("312 of 1,176 checked in"), in one query."""
    valid = (
        Registration.event_id == event.id,
        Registration.status == RegistrationStatus.CONFIRMED,
        Registration.hold_expires_at.is_(None),
    )
    duplicates = (
        select(func.count())
        .select_from(CheckInDuplicate)
        .join(Registration, Registration.id == CheckInDuplicate.registration_id)
        .where(Registration.event_id == event.id)
        .scalar_subquery()
    )
    expected, checked_in, twice = db.session.execute(
        select(func.count(), func.count(Registration.checked_in_at), duplicates).where(*valid)
    ).one()
    return Arrivals(checked_in=checked_in, expected=expected, duplicates=twice)


def duplicates_of(registrations: Sequence[Registration]) -> dict[int, list[CheckInDuplicate]]:
    """The second check-ins of these registrations, by registration id (one query)."""
    ids = [r.id for r in registrations]
    if not ids:
        return defaultdict(list)
    return _duplicates(CheckInDuplicate.registration_id.in_(ids))


def _duplicates(condition: Any) -> dict[int, list[CheckInDuplicate]]:
    found: dict[int, list[CheckInDuplicate]] = defaultdict(list)
    rows = db.session.scalars(
        select(CheckInDuplicate)
        .options(joinedload(CheckInDuplicate.checked_in_by))
        .where(condition)
        .order_by(CheckInDuplicate.checked_in_at, CheckInDuplicate.id)
    )
    for row in rows:
        found[row.registration_id].append(row)
    return found


def twice_message(registration: Registration, duplicates: Sequence[CheckInDuplicate]) -> str:
    """ "Checked in twice: at 09:14 by Ana Example, again at 09:16 by Bo Example (Door 2)." """
    tz = registration.event.timezone
    first = registration.checked_in_at
    first_by = registration.checked_in_by.name if registration.checked_in_by else "?"
    again = "; ".join(
        _(
            "again at %(time)s by %(name)s (%(device)s)",
            time=templating.local_time(d.checked_in_at, tz),
            name=d.checked_in_by.name if d.checked_in_by else "?",
            device=d.device or _("another device"),
        )
        for d in duplicates
    )
    return _(
        "Checked in twice: at %(time)s by %(name)s, %(again)s.",
        time=templating.local_time(first, tz) if first else "?",
        name=first_by,
        again=again,
    )


def door_entry(registration: Registration, duplicates: Sequence[CheckInDuplicate]) -> dict:
    """What a door device keeps about one registration: enough to recognise the ticket and
    the person, nothing more (no email address, no answers)."""
    reason = tickets.invalid_reason(registration)
    by = registration.checked_in_by
    at = registration.checked_in_at
    checked_in_text = None
    if at is not None:
        time = templating.local_time(at, registration.event.timezone)
        checked_in_text = (
            _("Checked in at %(time)s by %(name)s.", time=time, name=by.name)
            if by
            else _("Checked in at %(time)s.", time=time)
        )
    return {
        "id": registration.public_id,
        "name": registration.user.name,
        "affiliation": registration.user.affiliation or "",
        "status": str(registration.status),
        "code": registration.ticket_code,
        "refusal": reason,
        "checked_in_at": iso_or_none(registration.checked_in_at),
        "checked_in_by": by.name if by else None,
        "checked_in_text": checked_in_text,
        "twice": twice_message(registration, duplicates) if duplicates else None,
    }


def _with_people(event: Event) -> Any:
    return (
        select(Registration)
        .options(joinedload(Registration.user), joinedload(Registration.checked_in_by))
        .where(Registration.event_id == event.id)
    )


def door_list(event: Event) -> list[dict]:
    """Every registration of the event as a door device keeps it (three queries)."""
    registrations = list(db.session.scalars(_with_people(event).order_by(Registration.id)))
    # Selected by event, not by a list of ids: PostgreSQL takes at most 65,535 parameters
    # (scale bench: the door list of an event of 100,000 registrations was a 503).
    event_ids = select(Registration.id).where(Registration.event_id == event.id)
    duplicates = _duplicates(CheckInDuplicate.registration_id.in_(event_ids))
    return [door_entry(r, duplicates.get(r.id, [])) for r in registrations]


@dataclass(frozen=True)
class OfflineCheckIn:
    """One check-in a door device made while offline: whom, and its own clock's time."""

    registration: str  # the public id from the door list
    at: datetime


@dataclass(frozen=True)
class SyncResult:
    registration: str
    # "checked_in", "already" (this device's own, synced before), "twice", "refused", "unknown"
    outcome: str
    message: str
    entry: dict | None


def apply_offline_check_ins(
    event: Event, items: Sequence[OfflineCheckIn], by: User, device: str, now: datetime
) -> list[SyncResult]:
    """Apply what a device checked in offline. The earliest check-in of a person is the one
    kept; a later one is recorded as a duplicate (and reported) whichever device made it.
    A device's clock ahead of the server's counts as now; one further back than
    `MAX_OFFLINE`, as that long ago. Sending the same check-in again
    (a sync whose answer was lost) changes nothing.

    Locks the registrations (PostgreSQL; SQLite requests that write hold the write lock)."""
    ids = {item.registration for item in items}
    query = _with_people(event).where(Registration.public_id.in_(ids))
    if is_postgresql():
        query = query.with_for_update(of=Registration)
    found = {r.public_id: r for r in db.session.scalars(query).unique()}
    previous = duplicates_of(list(found.values()))
    results = []
    for item in items:
        registration = found.get(item.registration)
        if registration is None:
            results.append(
                SyncResult(
                    item.registration, "unknown", _("Not a registration of this event."), None
                )
            )
            continue
        at = max(min(item.at, now), now - MAX_OFFLINE)
        outcome, message = _apply_one(registration, previous[registration.id], at, by, device)
        db.session.flush()
        duplicates = previous[registration.id] = duplicates_of([registration]).get(
            registration.id, []
        )
        if outcome == "twice":
            message = twice_message(registration, duplicates)
        results.append(
            SyncResult(item.registration, outcome, message, door_entry(registration, duplicates))
        )
    return results


def _apply_one(
    registration: Registration,
    duplicates: list[CheckInDuplicate],
    at: datetime,
    by: User,
    device: str,
) -> tuple[str, str]:
    first = registration.checked_in_at
    if first is None:
        try:
            services.check_in(registration, at, by=by)
        except rules.RegistrationError as err:
            return "refused", str(err)
        return "checked_in", _("Checked in.")
    resent = (first == at and registration.checked_in_by_id == by.id) or any(
        d.checked_in_at == at and d.checked_in_by_id == by.id and d.device == device
        for d in duplicates
    )
    if resent:
        return "already", _("Checked in.")
    if first <= at:
        db.session.add(
            CheckInDuplicate(
                registration=registration, checked_in_at=at, checked_in_by=by, device=device
            )
        )
    else:  # this device was first: its check-in is kept, the other becomes the duplicate
        db.session.add(
            CheckInDuplicate(
                registration=registration,
                checked_in_at=first,
                checked_in_by_id=registration.checked_in_by_id,
                device="",
            )
        )
        registration.checked_in_at = at
        registration.checked_in_by = by
        registration.updated_at = at
    return "twice", ""
