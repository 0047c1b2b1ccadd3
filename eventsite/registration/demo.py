"""Demonstration registrations: questions on several demo events, invented attendees, and
events in every registration state (plenty of places, a few left, full with a waiting
list, approval required, not yet open, closed).

Runs after `eventsite.events.demo.load_demo()` and finds its events by slug. Attendees are
known by their email domain, so `clear_registration_demo()` removes exactly them.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from werkzeug.security import generate_password_hash

from eventsite.accounts.models import User
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.registration import answers, queries
from eventsite.registration.models import (
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
)

ATTENDEE_DOMAIN = "attendees.demo.invalid"
ATTENDEE_COUNT = 80

FORUM = "world-forum-science-technology-openness-trust-cooperation"
VACCINES = "vaccine-manufacturing-access-workshop"  # approval required
BROADBAND = "rural-broadband-workshop"  # fewer than 10 places left
OPEN_DATA = "open-data-climate-adaptation-workshop"  # full, waiting list
NAIROBI = "nairobi-digital-economy-summit"  # registration not yet open
GENE_EDITING = "ethics-of-gene-editing-lecture"  # registration closed
HYDROGEN = "green-hydrogen-clean-industry-forum"  # plenty of places

FIRST_NAMES = [
    "Amina", "Bruno", "Chen", "Dalia", "Emeka", "Freya", "Gustavo", "Hana", "Ivan", "Jia",
    "Kwame", "Leila", "Mateo", "Nadia", "Oren", "Priya", "Quentin", "Rosa", "Sipho", "Tomoko",
]  # fmt: skip
LAST_NAMES = ["Abebe", "Bianchi", "Costa", "Dubois", "Eriksen", "Fofana", "Gupta", "Haddad"]
AFFILIATIONS = [
    "University of Lagos", "ETH Zurich", "Universidade de São Paulo", "Tsinghua University",
    "University of Nairobi", "Indian Institute of Science", "CNRS", "University of Cape Town",
]  # fmt: skip
COUNTRIES = ["NG", "CH", "BR", "CN", "KE", "IN", "FR", "ZA"]
DIETS = ["No special needs", "Vegetarian", "Vegan", "Halal", "Kosher", "Gluten-free"]

CODE_OF_CONDUCT = (
    "I have read the code of conduct and will follow it",
    "We want every participant to feel welcome and safe. The code of conduct is on the event page.",
)


def _q(kind: QuestionKind, label: str, *, required: bool = False, help_text: str = "",
       options: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "kind": kind,
        "label": label,
        "is_required": required,
        "help_text": help_text,
        "options": options or [],
    }


AFFILIATION_Q = _q(
    QuestionKind.SHORT_TEXT,
    "Affiliation",
    required=True,
    help_text="Your university, institute, company or organisation.",
)
COUNTRY_Q = _q(QuestionKind.COUNTRY, "Country of residence", required=True)
DIET_Q = _q(
    QuestionKind.SINGLE_CHOICE,
    "Dietary needs",
    help_text="Lunch and coffee breaks are included.",
    options=DIETS,
)
CONDUCT_Q = _q(
    QuestionKind.CHECKBOX, CODE_OF_CONDUCT[0], required=True, help_text=CODE_OF_CONDUCT[1]
)


def _questions_for(slug: str, event: Event) -> list[dict[str, Any]]:
    if slug == FORUM:
        sessions = [s.title for s in event.sessions][:6]
        return [
            AFFILIATION_Q,
            COUNTRY_Q,
            DIET_Q,
            _q(
                QuestionKind.MULTIPLE_CHOICE,
                "Which sessions will you attend?",
                help_text="This helps us plan the rooms. Choose all that apply.",
                options=sessions or ["Opening plenary", "Parallel sessions", "Closing plenary"],
            ),
            _q(
                QuestionKind.LONG_TEXT,
                "Anything else we should know?",
                help_text="Accessibility needs, interpretation, anything.",
            ),
            CONDUCT_Q,
        ]
    if slug == VACCINES:
        return [
            AFFILIATION_Q,
            COUNTRY_Q,
            _q(
                QuestionKind.LONG_TEXT,
                "Why do you want to take part?",
                required=True,
                help_text="A few sentences on your work; places are limited.",
            ),
            CONDUCT_Q,
        ]
    if slug == OPEN_DATA:
        return [AFFILIATION_Q, DIET_Q, CONDUCT_Q]
    if slug == BROADBAND:
        return [
            AFFILIATION_Q,
            COUNTRY_Q,
            _q(
                QuestionKind.NUMBER,
                "How many colleagues will come with you?",
                help_text="Each of them registers too; this only helps us plan.",
            ),
        ]
    if slug == HYDROGEN:
        return [AFFILIATION_Q, DIET_Q]
    return []


# (event slug, confirmed, waitlisted, pending)
REGISTRATIONS: list[tuple[str, int, int, int]] = [
    (FORUM, 24, 0, 0),  # plenty of places
    (HYDROGEN, 12, 0, 0),  # plenty of places
    (BROADBAND, 74, 0, 0),  # 6 of 80 left
    (OPEN_DATA, 40, 5, 0),  # full, five waiting
    (VACCINES, 20, 0, 6),  # approval required: six pending
]


def _attendees() -> list[User]:
    existing = list(
        db.session.scalars(
            select(User).where(User.email.like(f"%@{ATTENDEE_DOMAIN}")).order_by(User.id)
        )
    )
    if len(existing) >= ATTENDEE_COUNT:
        return existing
    # Nobody logs in as a demo attendee: a random password nobody knows.
    password_hash = generate_password_hash(secrets.token_urlsafe(24))
    known = {u.email for u in existing}
    for n in range(ATTENDEE_COUNT):
        first = FIRST_NAMES[n % len(FIRST_NAMES)]
        last = LAST_NAMES[(n // len(FIRST_NAMES) + n) % len(LAST_NAMES)]
        email = f"{first.lower()}.{last.lower()}.{n + 1:02d}@{ATTENDEE_DOMAIN}"
        if email in known:
            continue
        user = User(
            email=email,
            name=f"{first} {last}",
            password_hash=password_hash,
            affiliation=AFFILIATIONS[n % len(AFFILIATIONS)],
            country=COUNTRIES[n % len(COUNTRIES)],
        )
        db.session.add(user)
        existing.append(user)
    db.session.flush()
    return existing


def _sample_answers(questions: list[Question], n: int) -> dict[int, Any]:
    values: dict[int, Any] = {}
    for question in questions:
        kind = question.kind
        if kind == QuestionKind.SHORT_TEXT:
            values[question.id] = AFFILIATIONS[n % len(AFFILIATIONS)]
        elif kind == QuestionKind.COUNTRY:
            values[question.id] = COUNTRIES[n % len(COUNTRIES)]
        elif kind == QuestionKind.SINGLE_CHOICE and question.options:
            values[question.id] = question.options[n % len(question.options)]
        elif kind == QuestionKind.MULTIPLE_CHOICE and question.options:
            values[question.id] = question.options[: 1 + n % len(question.options)]
        elif kind == QuestionKind.CHECKBOX:
            values[question.id] = True
        elif kind == QuestionKind.NUMBER:
            values[question.id] = n % 3
        elif kind == QuestionKind.LONG_TEXT and question.is_required:
            values[question.id] = "I run a small fill-and-finish line and want to learn more."
    return values


def load_registration_demo(now: datetime) -> None:
    """Add questions and registrations to the demo events that have none yet.

    Flushes, never commits; sends no email (the attendees are invented).
    """
    events = {
        e.slug: e
        for e in db.session.scalars(
            select(Event).where(
                Event.slug.in_(
                    [FORUM, VACCINES, BROADBAND, OPEN_DATA, NAIROBI, GENE_EDITING, HYDROGEN]
                )
            )
        )
    }
    for slug, event in events.items():
        has_questions = db.session.scalar(
            select(func.count()).select_from(Question).where(Question.event_id == event.id)
        )
        if has_questions:
            continue
        for position, spec in enumerate(_questions_for(slug, event)):
            db.session.add(Question(event_id=event.id, position=position, **spec))
    db.session.flush()

    # Registration closed: the lecture is still ahead, but its registration ended yesterday.
    lecture = events.get(GENE_EDITING)
    if lecture is not None and (
        lecture.registration_closes_at is None or lecture.registration_closes_at > now
    ):
        closes_at = now - timedelta(days=1)
        if lecture.registration_opens_at is None or lecture.registration_opens_at < closes_at:
            lecture.registration_closes_at = closes_at

    attendees = _attendees()
    for slug, confirmed, waitlisted, pending in REGISTRATIONS:
        event = events.get(slug)
        if event is None:
            continue
        already = db.session.scalar(
            select(func.count()).select_from(Registration).where(Registration.event_id == event.id)
        )
        if already:
            continue
        questions = queries.questions_for_event(event)
        statuses = (
            [RegistrationStatus.CONFIRMED] * confirmed
            + [RegistrationStatus.PENDING] * pending
            + [RegistrationStatus.WAITLISTED] * waitlisted
        )
        if event.capacity is not None:
            holding = confirmed + pending
            assert holding <= event.capacity, f"demo overbooks {slug}"
        for n, status in enumerate(statuses[: len(attendees)]):
            created_at = now - timedelta(days=10) + timedelta(minutes=37 * n)
            db.session.add(
                Registration(
                    event_id=event.id,
                    user_id=attendees[n].id,
                    status=status,
                    answers=answers.build_answers(questions, _sample_answers(questions, n)),
                    created_at=created_at,
                    updated_at=created_at,
                )
            )
    db.session.flush()


def clear_registration_demo() -> int:
    """Remove the demo attendees (their registrations go with them). Questions and
    registrations on demo events go when `clear_demo()` deletes the events."""
    ids = select(User.id).where(User.email.like(f"%@{ATTENDEE_DOMAIN}"))
    db.session.execute(delete(Registration).where(Registration.user_id.in_(ids)))
    result = db.session.execute(delete(User).where(User.email.like(f"%@{ATTENDEE_DOMAIN}")))
    return int(getattr(result, "rowcount", 0) or 0)
