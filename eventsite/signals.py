"""Signals a lower package sends so that a higher one can act on it without being imported.

A package connects its receivers in its own module (imported by the package, so connecting
happens whenever the package is loaded). Receivers run in the sender's transaction: they may
flush, never commit, and raise a `DomainError` to refuse what is being done.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# --- accounts --------------------------------------------------------------------------------

account_deletion_requested = _signals.signal("account-deletion-requested")
"""Someone asks to delete their account (sender: the `User`; keyword `now`).

Every receiver is asked before anything is removed: one that would be left in a bad state
raises a `DomainError` whose message tells the person what to do first (the last member
of an organisation people are registered with, say). Receivers may lock rows; they change
nothing."""

account_deleting = _signals.signal("account-deleting")
"""The account is deleted in this transaction, once no receiver of
`account_deletion_requested` refused (sender: the `User`; keyword `now`). Receivers remove
or anonymise what their package holds about the person (cancelling registrations, say)."""

personal_data_requested = _signals.signal("personal-data-requested")
"""Someone downloads everything we hold about them (sender: the `User`). Each receiver
returns `(section, data)`: the name of its section in the export and JSON-ready data."""

login_destination = _signals.signal("login-destination")
"""Someone is asked to log in or sign up on their way to a page of this site (sender: the
page's endpoint, e.g. "registration.register"; keyword `view_args`, the values its URL
gives). A receiver that knows the page returns an `accounts.destinations.Destination`
naming it ("Log in to register for Open Science Forum"), else None. Receivers only read.
Connected in registration/receivers.py: an event's page and its registration form."""

# --- organisations ---------------------------------------------------------------------------

organisation_changed = _signals.signal("organisation-changed")
"""Something about an organisation changed: its profile or logo, its members, its
invitations (sender: the `Organisation`; keywords `action`, e.g. "member_add", `actor`, the
`User` who did it or None for the command line, `now`, and `details`, JSON-ready values
saying what changed). The workspace writes each one to its audit log."""

members_leaving_alone = _signals.signal("members-leaving-alone")
"""The only member of these organisations asks to leave them (sender: the leaving user's
id; keywords `organisation_ids` and `now`). Each receiver returns the ids of those that
must keep a member because of what its package holds (people registered for their coming
events, say); an organisation may be left without members otherwise."""

# --- events ------------------------------------------------------------------------------------

event_published = _signals.signal(
    "event-published",
    doc="""A draft event was published (events.services.publish_event).

sender: the Event, flushed, now public. Keyword: `now` (aware UTC datetime).
Connected in announcements/receivers.py: the "notify me" subscribers hear of the first one.
""",
)

event_publishing = _signals.signal(
    "event-publishing",
    doc="""A draft is about to be published (events.services.publish_event). Receivers
change nothing: they raise a `DomainError` saying why the event cannot be public yet.

sender: the draft Event. Keyword: `now` (aware UTC datetime).
Connected in registration/receivers.py: a registration form nobody could submit (a
required choice question without choices) keeps the event a draft.
""",
)

event_changed = _signals.signal(
    "event-changed",
    doc="""What calendars show of a published event changed, and its revision
(the calendar SEQUENCE) went up once for this save (events.revision).

sender: the Event, flushed. Keywords: `changes` (frozenset of the changed names: Event
columns, or "agenda" for its sessions), `now` (aware UTC datetime), `notify` (False when
the organiser chose not to email registrants: never for a change of time or place).
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

# --- registration ------------------------------------------------------------------------------

registration_created = _signals.signal(
    "registration-created",
    doc="""Someone registered (registration.services.register_attendee): a new
Registration row, with a place, on the waiting list, awaiting approval or held until the
person confirms their address.

sender: the Registration, flushed. Keyword: `now` (aware UTC datetime).
Connected in webhooks/receivers.py: the organisation's endpoints hear of it.
""",
)

registration_changed = _signals.signal(
    "registration-changed",
    doc="""A registration changed without being cancelled or checked in: promoted from the
waiting list, approved, rejected, its held place confirmed, restored, its answers edited or
its check-in undone (registration.services).

sender: the Registration, flushed. Keywords: `change` (what happened: "promoted",
"approved", "rejected", "confirmed", "restored", "answers", "check_in_undone"), `now`.
Connected in webhooks/receivers.py.
""",
)

registration_cancelled = _signals.signal(
    "registration-cancelled",
    doc="""A registration was cancelled, by its person, an organiser or account deletion
(registration.services).

sender: the Registration, flushed. Keyword: `now` (aware UTC datetime).
Connected in webhooks/receivers.py.
""",
)

registration_checked_in = _signals.signal(
    "registration-checked-in",
    doc="""The person arrived and was checked in (registration.services.check_in).

sender: the Registration, flushed. Keyword: `now` (aware UTC datetime).
Connected in webhooks/receivers.py.
""",
)
