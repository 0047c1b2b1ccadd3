"""Rules for changing events: create, edit, publish, cancel, duplicate, delete a draft.

Each takes typed arguments (with `now`), raises a DomainError subclass when a rule says no,
flushes and never commits. What the packages above must hear of goes out as a signal
(eventsite/signals.py): registrants' emails, the announcement, the registration questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slugify import slugify
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from eventsite import signals
from eventsite.errors import DomainError
from eventsite.events import agenda, revision, rules, search_text
from eventsite.events.models import (
    TIME_PLACE_FIELDS,
    AgendaSession,
    Event,
    EventStatus,
    SessionSpeaker,
    Speaker,
    Topic,
)
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.images import services as image_services
from eventsite.organisations.models import Organisation

EDITABLE_FIELDS = (
    "title",
    "slug",
    "kind",
    "summary",
    "description",
    *TIME_PLACE_FIELDS,
    "capacity",
    "registration_opens_at",
    "registration_closes_at",
    "edit_deadline_at",
    "has_waiting_list",
    "requires_approval",
    "confirmation_hold_hours",
    "reminder_hours",
)
SLUG_MAX = 120


class EventStateError(rules.EventError):
    """The event is not in a state that allows the action."""


def refresh_search_text(event: Event) -> None:
    """Recompute the lower-cased text the listing's free-text search looks in: title,
    summary, description, session titles and speaker names. (Every flush already does
    this for the events it touches; see events/search_text.py.)"""
    search_text.refresh(event)


# --- slugs --------------------------------------------------------------------------------


def _slug_taken(slug: str, exclude_id: int | None) -> bool:
    if slug in rules.RESERVED_SLUGS:
        return True
    stmt = select(Event.id).where(Event.slug == slug)
    if exclude_id is not None:
        stmt = stmt.where(Event.id != exclude_id)
    return db.session.scalar(stmt.limit(1)) is not None


def unique_slug(text: str, exclude_id: int | None = None) -> str:
    """A free slug from a title: "world-forum", else "world-forum-2", "-3", ..."""
    base = slugify(text, max_length=SLUG_MAX - 6, word_boundary=True) or "event"
    candidate, n = base, 2
    while _slug_taken(candidate, exclude_id):
        candidate = f"{base}-{n}"
        n += 1
    return candidate


def _chosen_slug(value: str, exclude_id: int | None) -> str:
    slug = slugify(value, max_length=SLUG_MAX)
    if not slug:
        raise rules.EventError(_("Use letters or digits in the address."), field="slug")
    if _slug_taken(slug, exclude_id):
        raise rules.EventError(
            _("Another event already uses the address “%(slug)s”; choose another.", slug=slug),
            field="slug",
        )
    return slug


def _flush_event() -> None:
    """Flush, turning the unique-slug constraint (another request won the race) into words."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as err:
        if "slug" in str(err.orig).lower():
            raise rules.EventError(
                _("Another event already uses this address; choose another."), field="slug"
            ) from err
        raise


# --- time zones --------------------------------------------------------------------------


def recent_timezones(organisation_id: int, limit: int = 5) -> list[str]:
    """The zones of the organisation's events, the most recently created event's first
    (the event form offers them first, and a new event starts in the first)."""
    latest = func.max(Event.created_at)
    return list(
        db.session.scalars(
            select(Event.timezone)
            .where(Event.organisation_id == organisation_id)
            .group_by(Event.timezone)
            .order_by(latest.desc(), Event.timezone)
            .limit(limit)
        )
    )


# --- create and edit --------------------------------------------------------------------


def create_event(
    organisation: Organisation,
    values: dict[str, Any],
    now: datetime,
    topics: list[Topic] | None = None,
) -> Event:
    """A new draft event of the organisation."""
    rules.check_event_values(values)
    fields = {name: values[name] for name in EDITABLE_FIELDS if name in values}
    requested = fields.pop("slug", None)
    slug = _chosen_slug(requested, None) if requested else unique_slug(fields["title"])
    event = Event(
        organisation=organisation,
        slug=slug,
        status=EventStatus.DRAFT,
        revision=0,
        created_at=now,
        updated_at=now,
        **fields,
    )
    event.topics = list(topics or [])
    db.session.add(event)
    refresh_search_text(event)
    _flush_event()
    return event


@dataclass(frozen=True)
class EventUpdate:
    """What one save changed: each changed field's (old, new) values, and whether the
    calendar revision went up (then registrants were told, unless the organiser chose not
    to tell them of a change that is not to the time or place)."""

    changes: dict[str, tuple[Any, Any]]
    revision_raised: bool = False

    def __bool__(self) -> bool:
        return bool(self.changes)


@dataclass(frozen=True)
class PlannedUpdate:
    """What a save would change, before it is made: the changed names (Event columns,
    "topics", revision.AGENDA when the agenda moves along) and whether registrants would
    be emailed about it."""

    changed: frozenset[str]
    tells_registrants: bool

    @property
    def is_time_or_place(self) -> bool:
        return bool(self.changed & revision.TIME_PLACE_CHANGES)

    @property
    def is_time(self) -> bool:
        return bool(self.changed & revision.TIME_CHANGES)

    @property
    def is_place(self) -> bool:
        return bool(self.changed & (revision.TIME_PLACE_CHANGES - revision.TIME_CHANGES))


class NotifyRefused(rules.EventError):
    """The organiser asked not to email registrants about a change of time or place."""


def _event_diff(
    event: Event, changes: dict[str, Any], topics: list[Topic] | None
) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]]]:
    """The editable changes (the slug normalised) and each changed field's (old, new)."""
    changes = {name: value for name, value in changes.items() if name in EDITABLE_FIELDS}
    if "slug" in changes:
        wanted = changes["slug"]
        if not wanted:
            changes.pop("slug")  # an empty box keeps the address
        elif slugify(wanted, max_length=SLUG_MAX) == event.slug:
            changes.pop("slug")
        elif event.status != EventStatus.DRAFT or event.published_at is not None:
            raise rules.EventError(
                _("The address of a published event cannot change: links to it are out there."),
                field="slug",
            )
        else:
            changes["slug"] = _chosen_slug(wanted, event.id)
    diff = {
        name: (getattr(event, name), value)
        for name, value in changes.items()
        if getattr(event, name) != value
    }
    if topics is not None:
        old_ids = sorted(t.id for t in event.topics)
        new_ids = sorted(t.id for t in topics)
        if old_ids != new_ids:
            diff["topics"] = (
                [t.slug for t in event.topics],
                [t.slug for t in sorted(topics, key=lambda t: t.name)],
            )
    return changes, diff


def _agenda_times(
    event: Event, merged: dict[str, Any], diff: dict[str, Any], move_agenda: bool
) -> dict[AgendaSession, tuple[datetime, datetime]]:
    """The sessions' new times when the agenda moves along with a new start (else none)."""
    if not (move_agenda and event.sessions and ("starts_at" in diff or "timezone" in diff)):
        return {}
    shift = agenda.wall_clock_shift(
        event.starts_at, event.timezone, merged["starts_at"], merged["timezone"]
    )
    times = agenda.shifted_times(event, shift, event.timezone, merged["timezone"])
    return {s: t for s, t in times.items() if t != (s.starts_at, s.ends_at)}


def plan_update(
    event: Event,
    changes: dict[str, Any],
    topics: list[Topic] | None = None,
    *,
    move_agenda: bool = False,
) -> PlannedUpdate:
    """What update_event would change, without changing anything (for the organiser's
    "this will email N people" confirmation)."""
    changes, diff = _event_diff(event, changes, topics)
    merged = {name: getattr(event, name) for name in EDITABLE_FIELDS} | changes
    changed = set(diff)
    if diff and _agenda_times(event, merged, diff, move_agenda):
        changed.add(revision.AGENDA)
    return PlannedUpdate(frozenset(changed), revision.tells_registrants(event, changed))


def update_event(
    event: Event,
    changes: dict[str, Any],
    now: datetime,
    topics: list[Topic] | None = None,
    *,
    move_agenda: bool = False,
    notify: bool = True,
) -> EventUpdate:
    """Apply the changes; returns what really changed.

    With `move_agenda`, a new start moves every session by the same wall-clock shift in
    the event's zone (a day later is the same local times, across daylight saving too), in
    this save; without it, a session left outside the new dates refuses the change.
    When the save changes what calendars show of a published event, its revision goes up
    once and `signals.event_changed` tells registrants (events/revision.py); `notify=False`
    keeps them from being emailed, which only a change outside the time and place may.
    """
    changes, diff = _event_diff(event, changes, topics)
    if not diff:
        return EventUpdate({})
    merged = {name: getattr(event, name) for name in EDITABLE_FIELDS} | changes
    rules.check_event_values(merged)
    session_times = _agenda_times(event, merged, diff, move_agenda)
    if "starts_at" in diff or "ends_at" in diff or session_times:
        rules.check_sessions_inside(
            event,
            merged["starts_at"],
            merged["ends_at"],
            moved=session_times if move_agenda else None,
        )
    changed = set(diff) | ({revision.AGENDA} if session_times else set())
    if not notify and changed & revision.TIME_PLACE_CHANGES:
        raise NotifyRefused(
            _(
                "Registrants are always told when the time or place changes; "
                "untick “Don't notify registrants”."
            ),
            field="skip_notification",
        )
    for name in diff:
        if name != "topics":
            setattr(event, name, changes[name])
    if topics is not None and "topics" in diff:
        event.topics = list(topics)
    if session_times:
        agenda.move_sessions(session_times, now)
        diff[revision.AGENDA] = (None, len(session_times))
    event.updated_at = now
    refresh_search_text(event)
    _flush_event()
    raised = revision.note_change(event, frozenset(changed), now, notify=notify)
    return EventUpdate(diff, raised)


# --- lifecycle ----------------------------------------------------------------------------


def publish_event(event: Event, now: datetime) -> None:
    """Draft -> published: from now on the event is listed and its slug is stable. A
    receiver of `signals.event_publishing` may refuse (registration: a form nobody could
    submit) by raising a `DomainError`; then nothing changes."""
    if event.status != EventStatus.DRAFT:
        raise EventStateError(_("Only a draft can be published; this event is already public."))
    signals.event_publishing.send(event, now=now)
    event.status = EventStatus.PUBLISHED
    event.published_at = now
    refresh_search_text(event)
    db.session.flush()
    signals.event_published.send(event, now=now)


def cancel_event(event: Event, reason: str, now: datetime) -> None:
    """Published -> cancelled. The event stays public, marked cancelled, with the reason
    (required: attendees read it); the revision goes up so calendars replace their copy,
    and `signals.event_cancelled` tells registrants."""
    if event.status == EventStatus.CANCELLED:
        raise EventStateError(_("This event is already cancelled."))
    if event.status != EventStatus.PUBLISHED:
        raise EventStateError(_("Only a published event can be cancelled; delete a draft instead."))
    if event.has_ended(now):
        raise EventStateError(_("This event has already ended and cannot be cancelled."))
    reason = (reason or "").strip()
    if not reason:
        raise rules.EventError(
            _("Say why the event is cancelled; attendees will read it."), field="reason"
        )
    event.status = EventStatus.CANCELLED
    event.cancellation_reason = reason
    event.revision = (event.revision or 0) + 1
    event.updated_at = now
    db.session.flush()
    signals.event_cancelled.send(event, now=now)


def set_cover(event: Event, data: bytes, alt: str, now: datetime) -> None:
    """A new cover picture; the old one's files go once nothing uses them."""
    image = image_services.create_image(data, alt, now, field="cover", alt_field="cover_alt")
    old = event.cover_image
    event.cover_image = image
    db.session.flush()
    image_services.discard_image(old)


def set_cover_alt(event: Event, alt: str) -> None:
    if event.cover_image is not None:
        image_services.set_alt(event.cover_image, alt, field="cover_alt")


def set_speaker_photo_alt(speaker: Speaker, alt: str) -> None:
    if speaker.photo_image is not None:
        image_services.set_alt(speaker.photo_image, alt, field="photo_alt")


def remove_cover(event: Event) -> None:
    old = event.cover_image
    event.cover_image = None
    db.session.flush()
    image_services.discard_image(old)


def set_speaker_photo(speaker: Speaker, data: bytes, alt: str, now: datetime) -> None:
    image = image_services.create_image(data, alt, now, field="photo", alt_field="photo_alt")
    old = speaker.photo_image
    speaker.photo_image = image
    db.session.flush()
    image_services.discard_image(old)


def remove_speaker_photo(speaker: Speaker) -> None:
    old = speaker.photo_image
    speaker.photo_image = None
    db.session.flush()
    image_services.discard_image(old)


def draft_deletion_refusal(event: Event) -> str | None:
    """Why the event cannot be deleted, or None when it can: only a draft, and only while
    no package above refuses (registration: nobody registered for it). A published event
    is cancelled instead, so its registrants are told."""
    if event.status != EventStatus.DRAFT or event.published_at is not None:
        return _("Only a draft can be deleted; a published event can be cancelled instead.")
    try:
        signals.event_deleting.send(event)
    except DomainError as err:
        return str(err)
    return None


def delete_draft(event: Event) -> None:
    """Delete a draft with its agenda and questions (the database cascades)."""
    refusal = draft_deletion_refusal(event)
    if refusal is not None:
        raise EventStateError(refusal)
    cover = event.cover_image
    db.session.delete(event)
    db.session.flush()
    image_services.discard_image(cover)


# What a copy keeps of the original: the same place, zone and format (only the dates move).
COPIED_FIELDS = (
    "kind",
    "summary",
    "description",
    *(name for name in TIME_PLACE_FIELDS if name not in ("starts_at", "ends_at")),
    "capacity",
    "has_waiting_list",
    "requires_approval",
    "confirmation_hold_hours",
    "reminder_hours",
)


def _shift(value: datetime | None, delta: timedelta) -> datetime | None:
    return value + delta if value is not None else None


def duplicate_event(
    event: Event, title: str, starts_at: datetime, now: datetime, *, rescheduled: bool = False
) -> Event:
    """A draft copy starting at `starts_at`; the agenda and registration window move by
    the same amount (and, through `signals.event_duplicated`, the questions). `rescheduled`
    (a cancelled event only): the copy is its new date, and the cancelled event's page
    points to it once it is published."""
    if rescheduled and not event.is_cancelled:
        raise EventStateError(
            _("Only a cancelled event can point to a rescheduled copy."), field="rescheduled"
        )
    checked = {"title": title}
    rules.check_event_text(checked)
    title = checked["title"]
    delta = starts_at - event.starts_at
    copy = Event(
        organisation_id=event.organisation_id,
        title=title.strip() or event.title,
        slug=unique_slug(title.strip() or event.title),
        starts_at=starts_at,
        ends_at=event.ends_at + delta,
        status=EventStatus.DRAFT,
        revision=0,
        registration_opens_at=_shift(event.registration_opens_at, delta),
        registration_closes_at=_shift(event.registration_closes_at, delta),
        edit_deadline_at=_shift(event.edit_deadline_at, delta),
        created_at=now,
        updated_at=now,
        **{name: getattr(event, name) for name in COPIED_FIELDS},
    )
    copy.topics = list(event.topics)
    copy.cover_image = image_services.copy_image(event.cover_image)
    for session in event.sessions:
        new_session = AgendaSession(
            title=session.title,
            starts_at=session.starts_at + delta,
            ends_at=session.ends_at + delta,
            room=session.room,
            description=session.description,
        )
        for link in session.speaker_links:
            new_session.speaker_links.append(
                SessionSpeaker(speaker_id=link.speaker_id, position=link.position)
            )
        copy.sessions.append(new_session)
    db.session.add(copy)
    refresh_search_text(copy)
    _flush_event()
    signals.event_duplicated.send(event, copy=copy, now=now)
    if rescheduled:
        event.rescheduled_as = copy
    db.session.flush()
    return copy
