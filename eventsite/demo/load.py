"""`flask demo load`: create the demonstration rows that are missing, dated from `now`.

Existing rows are left as they are, so loading twice creates nothing twice. Everything here
flushes and never commits (the caller owns the transaction), and sends no email: the
attendees are invented, so their registrations are written in the state the demo shows
rather than through `registration.services.register_attendee`, which would email them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from eventsite import timeutil
from eventsite.accounts import services as accounts
from eventsite.accounts.models import User
from eventsite.demo import data, pictures
from eventsite.events import services as events
from eventsite.events.models import (
    AgendaSession,
    Event,
    EventStatus,
    SessionSpeaker,
    Speaker,
    Topic,
)
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.images import services as images
from eventsite.organisations.models import Organisation
from eventsite.registration import answers, queries
from eventsite.registration.models import (
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
)


@dataclass
class DemoSummary:
    """What one `load_demo()` created; all zero when the demo was already there."""

    organisations: int = 0
    topics: int = 0
    events: int = 0
    sessions: int = 0
    speakers: int = 0
    skipped_events: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.organisations + self.topics + self.events + self.sessions + self.speakers

    def describe(self) -> str:
        if not self.total:
            return "The demonstration data is already loaded; nothing to do."
        return (
            f"Created {self.organisations} organisations, {self.topics} topics, "
            f"{self.events} events, {self.sessions} agenda sessions and "
            f"{self.speakers} speakers."
        )


def load_demo(now: datetime) -> DemoSummary:
    """The programme (organisations, topics, speakers, events and their agendas), then the
    registrations (questions, attendees, registrations in every state)."""
    summary = load_programme(now)
    load_registrations(now)
    return summary


# --- the programme -----------------------------------------------------------------------------


def load_programme(now: datetime) -> DemoSummary:
    """Organisations, topics, speakers, events and agendas that are not there yet."""
    demo = data.demo()
    summary = DemoSummary()
    session = db.session

    organisations = {o.slug: o for o in session.scalars(
        select(Organisation).where(Organisation.slug.in_(demo.organisation_slugs))
    )}  # fmt: skip
    for values in demo.organisations:
        if values["slug"] not in organisations:
            organisation = Organisation(**values)
            session.add(organisation)
            organisation.logo_image = images.create_image(
                pictures.logo(values["slug"]), values["name"], now
            )
            organisations[values["slug"]] = organisation
            summary.organisations += 1

    topics = {t.slug: t for t in session.scalars(
        select(Topic).where(Topic.slug.in_(demo.topic_slugs))
    )}  # fmt: skip
    for values in demo.topics:
        if values["slug"] not in topics:
            topic = Topic(**values)
            session.add(topic)
            topics[values["slug"]] = topic
            summary.topics += 1

    existing_events = set(
        session.scalars(select(Event.slug).where(Event.slug.in_(demo.event_slugs)))
    )
    speakers: dict[str, Speaker] = {}
    new_speakers: list[Speaker] = []  # their pictures are made once every event is added
    by_name = {s.name: s for s in session.scalars(
        select(Speaker).where(Speaker.name.in_(demo.speaker_names)).order_by(Speaker.id)
    )}  # fmt: skip

    def speaker_for(key: str) -> Speaker:
        """Speakers are created when an agenda first names them, and reused after."""
        if key not in speakers:
            spec = demo.speakers[key]
            speaker = by_name.get(spec.name)
            if speaker is None:
                speaker = Speaker(
                    name=spec.name,
                    affiliation=spec.affiliation,
                    country=spec.country,
                    honours=spec.honours,
                    bio=spec.bio,
                )
                session.add(speaker)
                new_speakers.append(speaker)
                summary.speakers += 1
            speakers[key] = speaker
        return speakers[key]

    for spec in demo.events:
        if spec.slug in existing_events:
            summary.skipped_events.append(spec.slug)
            continue
        cover = images.create_image(
            pictures.cover(spec.slug),
            _("Abstract pattern of coloured shapes for %(title)s", title=spec.title),
            now,
        )
        event = _build_event(spec, now, organisations, topics, speaker_for)
        session.add(event)
        event.cover_image = cover
        summary.events += 1
        summary.sessions += len(event.sessions)
        events.refresh_search_text(event)

    for speaker in new_speakers:
        speaker.photo_image = images.create_image(
            pictures.photo(speaker.name),
            _("Abstract placeholder picture for %(name)s", name=speaker.name),
            now,
        )
    session.flush()
    return summary


def _build_event(
    spec: data.EventSpec,
    now: datetime,
    organisations: dict[str, Organisation],
    topics: dict[str, Topic],
    speaker_for: Callable[[str], Speaker],
) -> Event:
    tz = spec.timezone
    today = timeutil.to_local(now, tz).date()
    first_day = today + timedelta(days=spec.day)
    last_day = first_day + timedelta(days=spec.days - 1)
    if spec.all_day:
        starts_at, ends_at = timeutil.all_day_bounds(first_day, last_day, tz)
    else:
        starts_at = _at(first_day, spec.start, tz)
        ends_at = _at(last_day, spec.end, tz)

    opens_at = closes_at = None
    if spec.registration_opens_in_days is not None:
        opens_at = _at(today + timedelta(days=spec.registration_opens_in_days), "09:00", tz)
        closes_on = first_day - timedelta(days=spec.registration_closes_days_before)
        closes_at = min(_at(closes_on, "23:59", tz), starts_at)

    event = Event(
        slug=spec.slug,
        title=spec.title,
        kind=spec.kind,
        summary=spec.summary,
        description=spec.description,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=tz,
        is_all_day=spec.all_day,
        venue_name=spec.venue_name,
        venue_address=spec.venue_address,
        city=spec.city,
        country=spec.country,
        latitude=spec.latitude,
        longitude=spec.longitude,
        format=spec.format,
        online_url=spec.online_url,
        status=spec.status,
        cancellation_reason=spec.cancellation_reason,
        capacity=spec.capacity,
        registration_opens_at=opens_at,
        registration_closes_at=closes_at,
        has_waiting_list=spec.has_waiting_list,
        requires_approval=spec.requires_approval,
        organisation=organisations[spec.organisation],
        topics=[topics[slug] for slug in spec.topics],
        revision=1 if spec.status == EventStatus.CANCELLED else 0,
        published_at=None if spec.status == EventStatus.DRAFT else now - timedelta(days=30),
        created_at=now - timedelta(days=45),
    )
    for session_spec in spec.sessions:
        agenda_day = first_day + timedelta(days=session_spec.day)
        agenda_session = AgendaSession(
            title=session_spec.title,
            starts_at=_at(agenda_day, session_spec.start, tz),
            ends_at=_at(agenda_day, session_spec.end, tz),
            room=session_spec.room,
            description=session_spec.description,
        )
        for position, key in enumerate(session_spec.speakers):
            agenda_session.speaker_links.append(
                SessionSpeaker(speaker=speaker_for(key), position=position)
            )
        event.sessions.append(agenda_session)
    return event


def _at(day: date, hhmm: str, tz: str) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return timeutil.local_to_utc(datetime.combine(day, time(hours, minutes)), tz)


# --- registrations -----------------------------------------------------------------------------


def load_registrations(now: datetime) -> None:
    """Questions on the demo events that have none, registrations on those that have none,
    and the invented attendees who make them."""
    demo = data.demo()
    slugs = {*demo.asked, *(r.event for r in demo.registrations), *demo.closed_events}
    found = db.session.scalars(select(Event).where(Event.slug.in_(slugs)).order_by(Event.slug))
    by_slug = {event.slug: event for event in found}

    for slug, event in by_slug.items():
        if _count(Question, Question.event_id == event.id):
            continue
        for position, key in enumerate(demo.asked.get(slug, ())):
            db.session.add(_question(demo.questions[key], event, position))
    db.session.flush()

    for slug in demo.closed_events:
        event = by_slug.get(slug)
        if event is not None and (
            event.registration_closes_at is None or event.registration_closes_at > now
        ):
            closes_at = now - timedelta(days=1)
            if event.registration_opens_at is None or event.registration_opens_at < closes_at:
                event.registration_closes_at = closes_at

    attendees = _attendees(demo.attendees)
    for spec in demo.registrations:
        event = by_slug.get(spec.event)
        if event is None or _count(Registration, Registration.event_id == event.id):
            continue
        if event.capacity is not None and spec.confirmed + spec.pending > event.capacity:
            raise ValueError(f"the demo overbooks {spec.event}")
        questions = queries.questions_for_event(event)
        statuses = (
            [RegistrationStatus.CONFIRMED] * spec.confirmed
            + [RegistrationStatus.PENDING] * spec.pending
            + [RegistrationStatus.WAITLISTED] * spec.waitlisted
        )
        for n, status in enumerate(statuses[: len(attendees)]):
            created_at = now - timedelta(days=10) + timedelta(minutes=37 * n)
            values = _sample_answers(questions, n, demo.attendees)
            db.session.add(
                Registration(
                    event_id=event.id,
                    user_id=attendees[n].id,
                    status=status,
                    answers=answers.build_answers(questions, values),
                    created_at=created_at,
                    updated_at=created_at,
                )
            )
    db.session.flush()


def _count(model: Any, condition: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(condition)) or 0


def _question(spec: data.QuestionSpec, event: Event, position: int) -> Question:
    options = list(spec.options)
    if spec.options_from_agenda:
        options = [s.title for s in event.sessions][: spec.options_from_agenda] or options
    return Question(
        event_id=event.id,
        position=position,
        kind=spec.kind,
        label=spec.label,
        is_required=spec.required,
        help_text=spec.help_text,
        options=options,
    )


def _attendees(spec: data.AttendeeSpec) -> list[User]:
    existing = list(
        db.session.scalars(
            select(User).where(User.email.like(f"%@{spec.domain}")).order_by(User.id)
        )
    )
    if len(existing) >= spec.count:
        return existing
    # Nobody logs in as a demo attendee: a random password nobody knows.
    password_hash = accounts.hash_password(secrets.token_urlsafe(24))
    known = {u.email for u in existing}
    for n in range(spec.count):
        first = spec.first_names[n % len(spec.first_names)]
        last = spec.last_names[(n // len(spec.first_names) + n) % len(spec.last_names)]
        email = f"{first.lower()}.{last.lower()}.{n + 1:02d}@{spec.domain}"
        if email in known:
            continue
        user = User(
            email=email,
            name=f"{first} {last}",
            password_hash=password_hash,
            affiliation=spec.affiliations[n % len(spec.affiliations)],
            country=spec.countries[n % len(spec.countries)],
        )
        db.session.add(user)
        existing.append(user)
    db.session.flush()
    return existing


def _sample_answers(questions: list[Question], n: int, people: data.AttendeeSpec) -> dict[int, Any]:
    """Attendee n's answers: choices that vary (their affiliation and country are on their
    profile, which the registration form shows)."""
    values: dict[int, Any] = {}
    for question in questions:
        kind = question.kind
        if kind == QuestionKind.SINGLE_CHOICE and question.options:
            values[question.id] = question.options[n % len(question.options)]
        elif kind == QuestionKind.MULTIPLE_CHOICE and question.options:
            values[question.id] = question.options[: 1 + n % len(question.options)]
        elif kind == QuestionKind.CHECKBOX:
            values[question.id] = True
        elif kind == QuestionKind.NUMBER:
            values[question.id] = n % 3
        elif kind == QuestionKind.LONG_TEXT and question.is_required:
            values[question.id] = people.long_answer
    return values
