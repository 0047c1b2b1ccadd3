"""The calendar revision rule: an event's revision (its calendar SEQUENCE) goes up once per
save when anything a calendar shows of it changes, so calendars and the invitation copies
registrants hold replace what they show."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm.attributes import flag_modified

from eventsite import signals
from eventsite.events.models import TIME_PLACE_FIELDS, Event, EventStatus
from eventsite.extensions import db

# What the event's VEVENT shows (ical/content.py): times, place, title, summary,
# description, topics (CATEGORIES) and status. Capacity, the registration window, the
# address (slug: fixed once published) and the approval settings are not.
EVENT_CALENDAR_FIELDS = frozenset(
    {*TIME_PLACE_FIELDS, "title", "summary", "description", "topics", "status"}
)
# What each session's VEVENT shows (with its speakers); it carries the event's SEQUENCE.
SESSION_CALENDAR_FIELDS = frozenset({"title", "starts_at", "ends_at", "room", "description"})
# The name a change to the agenda (a session added, moved, edited, removed, or its speakers)
# goes by among the event's changed fields.
AGENDA = "agenda"
# A change to any of these moves the event in time or place: registrants are always told.
TIME_PLACE_CHANGES = frozenset({*TIME_PLACE_FIELDS, AGENDA})
TIME_CHANGES = frozenset({"starts_at", "ends_at", "timezone", "is_all_day", AGENDA})


def calendar_changes(changed: Iterable[str]) -> frozenset[str]:
    """The names among `changed` that calendars show."""
    return frozenset(changed) & (EVENT_CALENDAR_FIELDS | {AGENDA})


def tells_registrants(event: Event, changed: Iterable[str]) -> bool:
    """Whether saving these changes (Event columns, or AGENDA) would raise the revision,
    so that registrants are emailed unless the organiser chose not to (see note_change)."""
    return event.status == EventStatus.PUBLISHED and bool(calendar_changes(changed))


def unflushed_changes(event: Event) -> frozenset[str]:
    """The event's columns changed since the last flush (read before the session flushes)."""
    attrs = sa_inspect(event).attrs
    return frozenset(name for name in EVENT_CALENDAR_FIELDS if attrs[name].history.has_changes())


def raise_revision_if_shown(event: Event, changed: Iterable[str] | None = None) -> bool:
    """Raise the revision by one when a published event's save changes what calendars show.

    `changed` names what this save changed (Event columns, or AGENDA); without it the
    unflushed attribute history of the event is read. Call it once per save (the services
    call `note_change`, which also tells registrants).
    A draft has no calendars yet, and a cancellation raises the revision itself.
    """
    names = unflushed_changes(event) if changed is None else calendar_changes(changed)
    if not names or event.status != EventStatus.PUBLISHED:
        return False
    event.revision = (event.revision or 0) + 1
    return True


def note_change(
    event: Event, changed: frozenset[str], now: datetime, *, notify: bool = True
) -> bool:
    """After a save changed `changed` of the event (its columns, or AGENDA), flushed: raise
    the revision once if calendars show any of it, and send `signals.event_changed` so
    registrants get the update (unless `notify` is false: the services allow that only
    for changes outside TIME_PLACE_CHANGES). Returns whether the revision went up."""
    if not raise_revision_if_shown(event, changed):
        return False
    # The calendar's DTSTAMP and LAST-MODIFIED follow the revision. Flagged: when the save
    # already set it to `now`, the column's onupdate would otherwise put in the clock time.
    event.updated_at = now
    flag_modified(event, "updated_at")
    db.session.flush()
    signals.event_changed.send(event, changes=calendar_changes(changed), now=now, notify=notify)
    return True
