"""Signals a lower package sends so that a higher one can act on it without being imported.

A package connects its receivers in its own module (imported by the package, so connecting
happens whenever the package is loaded). Receivers run in the sender's transaction: they may
flush, never commit, and raise a `DomainError` to refuse what is being done.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

event_published = _signals.signal(
    "event-published",
    doc="""A draft event was published (events.services.publish_event).

sender: the Event, flushed, now public. Keyword: `now` (aware UTC datetime).
Connected in announcements/receivers.py: the "notify me" subscribers hear of the first one.
""",
)

event_changed = _signals.signal(
    "event-changed",
    doc="""What calendars show of a published event changed, and its revision
(the calendar SEQUENCE) went up once for this save (events.revision).

sender: the Event, flushed. Keywords: `changes` (frozenset of the changed names: Event
columns, or "agenda" for its sessions), `now` (aware UTC datetime).
Connected in registration/receivers.py: registrants get the "Changed:" update email.
""",
)

event_cancelled = _signals.signal(
    "event-cancelled",
    doc="""A published event was cancelled (events.services.cancel_event); its
revision went up and it stays public, marked cancelled, with the reason.

sender: the Event, flushed. Keyword: `now` (aware UTC datetime).
Connected in registration/receivers.py: registrants get the METHOD:CANCEL email.
""",
)

event_duplicated = _signals.signal(
    "event-duplicated",
    doc="""A draft copy of an event was made (events.services.duplicate_event).

sender: the original Event. Keywords: `copy` (the new draft, flushed, with its id),
`now` (aware UTC datetime).
Connected in registration/receivers.py: the registration questions are copied too.
""",
)

event_deleting = _signals.signal(
    "event-deleting",
    doc="""A draft is about to be deleted, or the workspace asks whether it could be
(events.services.draft_deletion_refusal). Receivers change nothing: they raise a
`DomainError` saying why the draft must stay.

sender: the draft Event.
Connected in registration/receivers.py: a draft people registered for stays.
""",
)
