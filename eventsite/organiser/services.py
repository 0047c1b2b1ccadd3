"""Workspace rules for events: create, edit, publish, cancel, delete a draft, duplicate."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from slugify import slugify
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from eventsite import input_rules
from eventsite.accounts.models import User
from eventsite.errors import DomainError
from eventsite.events import revision
from eventsite.events import services as event_services
from eventsite.events.models import (
    MAX_CAPACITY,
    TIME_PLACE_FIELDS,
    AgendaSession,
    Event,
    EventFormat,
    EventStatus,
    Organisation,
    SessionSpeaker,
    Topic,
)
from eventsite.extensions import db
from eventsite.organiser import audit
from eventsite.registration import notifications
from eventsite.registration.models import Question, Registration

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
)
SLUG_MAX = 120


class EventError(DomainError):
    """A workspace rule about events refused the change."""


def refresh_search_text(event: Event) -> None:
    event_services.refresh_search_text(event)


# --- slugs --------------------------------------------------------------------------------


def _slug_taken(slug: str, exclude_id: int | None) -> bool:
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
        raise EventError(_("Use letters or digits in the address."), field="slug")
    if _slug_taken(slug, exclude_id):
        raise EventError(
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
            raise EventError(
                _("Another event already uses this address; choose another."), field="slug"
            ) from err
        raise


# --- validation shared by create and edit -----------------------------------------------


DATE_FIELDS = (
    "starts_at",
    "ends_at",
    "registration_opens_at",
    "registration_closes_at",
    "edit_deadline_at",
)


def check_event_values(values: dict[str, Any]) -> None:
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if starts is None or ends is None:
        raise EventError(_("Give the start and the end."), field="starts_at")
    # The form checks the local dates; this catches what comes another way (the CLI, an
    # import). In UTC a date at either end of the range may fall in the next year out.
    for name in DATE_FIELDS:
        moment = values.get(name)
        if moment is not None and not (
            event_services.MIN_YEAR - 1 <= moment.year <= event_services.MAX_YEAR + 1
        ):
            raise EventError(
                _(
                    "Give a date between the years %(first)s and %(last)s.",
                    first=event_services.MIN_YEAR,
                    last=event_services.MAX_YEAR,
                ),
                field=name,
            )
    if ends <= starts:
        raise EventError(_("The end must come after the start."), field="ends_at")
    opens, closes = values.get("registration_opens_at"), values.get("registration_closes_at")
    if closes is not None and closes > ends:
        raise EventError(
            _("Registration must close before the event ends."), field="registration_closes_at"
        )
    if opens is not None and closes is not None and closes <= opens:
        raise EventError(
            _("Registration must close after it opens."), field="registration_closes_at"
        )
    if opens is not None and opens >= ends:
        raise EventError(
            _("Registration must open before the event ends."), field="registration_opens_at"
        )
    if values.get("format") in (EventFormat.ONLINE, EventFormat.HYBRID) and not values.get(
        "online_url"
    ):
        raise EventError(_("Online and hybrid events need the online address."), "online_url")
    capacity = values.get("capacity")
    if capacity is not None and not (0 <= capacity <= MAX_CAPACITY):
        raise EventError(
            _("Give a number of places between 0 and %(max)d.", max=MAX_CAPACITY),
            field="capacity",
        )
    check_event_text(values)


# What the CLI or the API passes meets the form's rules: a line break in a title would
# reach email subjects and calendar lines.
SINGLE_LINE_FIELDS = ("title", "slug", "venue_name", "venue_address", "city", "online_url")
MULTI_LINE_FIELDS = ("summary", "description")


def check_event_text(values: dict[str, Any]) -> None:
    """Mend pasted soft breaks and stray control characters in place
    (input_rules.clean_text_fields), then refuse what is still not plain text."""
    input_rules.clean_text_fields(values, SINGLE_LINE_FIELDS, MULTI_LINE_FIELDS)
    name = input_rules.first_not_single_line(values, SINGLE_LINE_FIELDS)
    if name is not None:
        raise EventError(str(input_rules.SINGLE_LINE_MESSAGE), field=name)
    name = input_rules.first_not_plain_text(values, MULTI_LINE_FIELDS)
    if name is not None:
        raise EventError(str(input_rules.PLAIN_TEXT_MESSAGE), field=name)


def _check_sessions_inside(event: Event, starts: datetime, ends: datetime) -> None:
    outside = [s for s in event.sessions if s.starts_at < starts or s.ends_at > ends]
    if outside:
        raise EventError(
            _(
                "The agenda has sessions outside these dates (%(titles)s); move them first.",
                titles=", ".join(s.title for s in outside[:3]),
            ),
            field="starts_at",
        )


# --- create and edit --------------------------------------------------------------------


def create_event(
    organisation: Organisation,
    values: dict[str, Any],
    actor: User | None,
    now: datetime,
    topics: list[Topic] | None = None,
) -> Event:
    """A new draft event of the organisation."""
    check_event_values(values)
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
    audit.record(
        "create",
        organisation_id=organisation.id,
        event_id=event.id,
        actor=actor,
        now=now,
        title=event.title,
    )
    return event


def update_event(
    event: Event,
    changes: dict[str, Any],
    actor: User | None,
    now: datetime,
    topics: list[Topic] | None = None,
) -> list[str]:
    """Apply the changes; returns the names of the fields that really changed.

    A published event whose date, time or place changes gets a higher revision and its
    registrants an update email (registration.notifications.notify_event_changed).
    """
    changes = {name: value for name, value in changes.items() if name in EDITABLE_FIELDS}
    if "slug" in changes:
        wanted = changes["slug"]
        if not wanted:
            changes.pop("slug")  # an empty box keeps the address
        elif slugify(wanted, max_length=SLUG_MAX) == event.slug:
            changes.pop("slug")
        elif event.status != EventStatus.DRAFT or event.published_at is not None:
            raise EventError(
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
    if not diff:
        return []
    merged = {name: getattr(event, name) for name in EDITABLE_FIELDS} | changes
    check_event_values(merged)
    if "starts_at" in diff or "ends_at" in diff:
        _check_sessions_inside(event, merged["starts_at"], merged["ends_at"])
    for name in diff:
        if name != "topics":
            setattr(event, name, changes[name])
    if topics is not None and "topics" in diff:
        event.topics = list(topics)
    event.updated_at = now
    # Only a published event has calendars and registrants to tell.
    notify = event.status == EventStatus.PUBLISHED and revision.bump_revision_if_moved(
        event, changed=diff
    )
    refresh_search_text(event)
    _flush_event()
    audit.record(
        "edit",
        organisation_id=event.organisation_id,
        event_id=event.id,
        actor=actor,
        now=now,
        changes=audit.changes_detail(diff),
        revision=event.revision if notify else None,
    )
    if notify:
        notifications.notify_event_changed(event, now)
    return list(diff)


# --- lifecycle ----------------------------------------------------------------------------


def publish(event: Event, actor: User | None, now: datetime) -> None:
    event_services.publish_event(event, now)
    audit.record(
        "publish", organisation_id=event.organisation_id, event_id=event.id, actor=actor, now=now
    )


def cancel(event: Event, reason: str, actor: User | None, now: datetime) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise EventError(_("Say why the event is cancelled; attendees will read it."), "reason")
    event_services.cancel_event(event, reason, now)
    audit.record(
        "cancel",
        organisation_id=event.organisation_id,
        event_id=event.id,
        actor=actor,
        now=now,
        reason=reason,
    )
    notifications.notify_event_cancelled(event, now)


def draft_deletion_refusal(event: Event) -> str | None:
    """Why the event cannot be deleted, or None when it can: only a draft that nobody
    registered for (a published event is cancelled instead, so its registrants are told)."""
    if event.status != EventStatus.DRAFT or event.published_at is not None:
        return _("Only a draft can be deleted; a published event can be cancelled instead.")
    if db.session.scalar(select(exists().where(Registration.event_id == event.id))):
        return _("People have registered for this draft, so it cannot be deleted.")
    return None


def delete_draft(event: Event, actor: User | None, now: datetime) -> None:
    """Delete a draft with its agenda and questions (the database cascades); the audit
    entry stays with the organisation, naming the draft."""
    refusal = draft_deletion_refusal(event)
    if refusal is not None:
        raise EventError(refusal)
    audit.record(
        "delete_draft",
        organisation_id=event.organisation_id,
        actor=actor,
        now=now,
        title=event.title,
        slug=event.slug,
    )
    db.session.delete(event)
    db.session.flush()


COPIED_FIELDS = (
    "kind",
    "summary",
    "description",
    "timezone",
    "is_all_day",
    "venue_name",
    "venue_address",
    "city",
    "country",
    "latitude",
    "longitude",
    "format",
    "online_url",
    "capacity",
    "has_waiting_list",
    "requires_approval",
)


def _shift(value: datetime | None, delta: timedelta) -> datetime | None:
    return value + delta if value is not None else None


def duplicate_event(
    event: Event, title: str, starts_at: datetime, actor: User | None, now: datetime
) -> Event:
    """A draft copy starting at `starts_at`; the agenda, registration window and
    questions move by the same amount."""
    checked = {"title": title}
    check_event_text(checked)
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
    questions = db.session.scalars(
        select(Question)
        .where(Question.event_id == event.id, Question.is_active.is_(True))
        .order_by(Question.position, Question.id)
    )
    refresh_search_text(copy)
    _flush_event()
    for question in questions:
        db.session.add(
            Question(
                event_id=copy.id,
                position=question.position,
                kind=question.kind,
                label=question.label,
                help_text=question.help_text,
                is_required=question.is_required,
                options=list(question.options or []),
                created_at=now,
            )
        )
    db.session.flush()
    audit.record(
        "create",
        organisation_id=copy.organisation_id,
        event_id=copy.id,
        actor=actor,
        now=now,
        title=copy.title,
        duplicated_from=event.slug,
    )
    audit.record(
        "duplicate",
        organisation_id=event.organisation_id,
        event_id=event.id,
        actor=actor,
        now=now,
        copy=copy.slug,
    )
    return copy
