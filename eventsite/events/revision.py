"""The calendar revision rule: an event's SEQUENCE goes up when its date, time or place
changes, so calendars holding a copy replace it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import inspect as sa_inspect

from eventsite.events.models import TIME_PLACE_FIELDS, Event


def bump_revision_if_moved(event: Event, changed: Iterable[str] | None = None) -> bool:
    """Raise the calendar SEQUENCE when the date, time or place changed.

    `changed` names the fields that changed; without it the unflushed attribute history
    of the event is read, so call this before the session flushes. Returns whether the
    revision went up (the caller then sends update emails:
    registration.notifications.notify_event_changed).
    """
    if changed is None:
        attrs = sa_inspect(event).attrs
        moved = any(attrs[name].history.has_changes() for name in TIME_PLACE_FIELDS)
    else:
        moved = bool(set(changed) & set(TIME_PLACE_FIELDS))
    if moved:
        event.revision = (event.revision or 0) + 1
    return moved
