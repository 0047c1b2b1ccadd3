"""Workspace rules for an event's registration: the form builder, the registrants
table, decisions on registrations, check-in and messages to registrants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager

from eventsite.accounts.models import User
from eventsite.errors import DomainError
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.mail.services import queue_email
from eventsite.organiser import audit
from eventsite.registration import queries as registration_queries
from eventsite.registration import services as registration_services
from eventsite.registration.models import (
    ACTIVE_STATUSES,
    Question,
    Registration,
    RegistrationStatus,
)

QUESTION_FIELDS = ("label", "kind", "help_text", "is_required", "options")


class RegistrantsError(DomainError):
    """A rule about registrations in the workspace refused the action."""


def _log(event: Event, action: str, actor: User | None, now: datetime, **details: Any) -> None:
    audit.record(
        action,
        organisation_id=event.organisation_id,
        event_id=event.id,
        actor=actor,
        now=now,
        **details,
    )


# --- the form builder ---------------------------------------------------------------------


def event_questions(event: Event) -> list[Question]:
    """Every question, removed ones too (they keep their answers), in form order."""
    return registration_queries.questions_for_event(event, include_removed=True)


def add_question(
    event: Event, values: dict[str, Any], actor: User | None, now: datetime
) -> Question:
    last = db.session.scalar(
        select(func.max(Question.position)).where(Question.event_id == event.id)
    )
    question = Question(
        event_id=event.id,
        position=(last + 1) if last is not None else 0,
        created_at=now,
        **{name: values[name] for name in QUESTION_FIELDS},
    )
    db.session.add(question)
    db.session.flush()
    _log(event, "question_add", actor, now, question=question.label, kind=question.kind)
    return question


def update_question(
    question: Question, values: dict[str, Any], actor: User | None, now: datetime
) -> list[str]:
    """Answers already given keep their own snapshot of the label, so they stay readable."""
    changed = {
        name: (getattr(question, name), values[name])
        for name in QUESTION_FIELDS
        if name in values and getattr(question, name) != values[name]
    }
    for name, (_old, new) in changed.items():
        setattr(question, name, new)
    if changed:
        db.session.flush()
        _log(
            question.event,
            "question_edit",
            actor,
            now,
            question=question.label,
            changes=audit.changes_detail(changed),
        )
    return list(changed)


def move_question(question: Question, direction: int, actor: User | None, now: datetime) -> None:
    active = [q for q in event_questions(question.event) if q.is_active]
    if question not in active:
        raise RegistrantsError(_("A removed question has no place in the form."))
    index = active.index(question)
    other = index + direction
    if direction not in (-1, 1) or not 0 <= other < len(active):
        raise RegistrantsError(_("This question cannot move further."))
    active[index], active[other] = active[other], active[index]
    # Renumber the active questions; removed ones keep their old positions (exports).
    for position, item in enumerate(active):
        item.position = position
    db.session.flush()
    _log(question.event, "question_move", actor, now, question=question.label)


def remove_question(question: Question, actor: User | None, now: datetime) -> None:
    """Take the question off the form; the answers already given stay in exports."""
    if not question.is_active:
        return
    question.is_active = False
    db.session.flush()
    _log(question.event, "question_remove", actor, now, question=question.label)


def restore_question(question: Question, actor: User | None, now: datetime) -> None:
    if question.is_active:
        return
    question.is_active = True
    db.session.flush()
    _log(question.event, "question_restore", actor, now, question=question.label)


# --- the registrants table ----------------------------------------------------------------

SORTS = {
    "registered": (Registration.created_at, Registration.id),
    "-registered": (Registration.created_at.desc(), Registration.id.desc()),
    "name": (func.lower(User.name), Registration.id),
    "-name": (func.lower(User.name).desc(), Registration.id.desc()),
    "email": (User.email, Registration.id),
    "status": (Registration.status, Registration.created_at, Registration.id),
}
STATUS_FILTERS = ("all", "active", *(s.value for s in RegistrationStatus))


@dataclass(frozen=True)
class RegistrantFilters:
    status: str = "all"
    q: str = ""
    sort: str = "registered"

    @classmethod
    def parse(cls, args: Any) -> RegistrantFilters:
        status = args.get("status", "all")
        sort = args.get("sort", "registered")
        return cls(
            status=status if status in STATUS_FILTERS else "all",
            # No NUL: PostgreSQL refuses it in a query.
            q=(args.get("q") or "").replace("\x00", "").strip()[:100],
            sort=sort if sort in SORTS else "registered",
        )

    def query_args(self) -> dict[str, str]:
        args = {"status": self.status, "q": self.q, "sort": self.sort}
        return {k: v for k, v in args.items() if v and v != RegistrantFilters().__dict__[k]}


def _like(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def status_condition(status: str) -> Any:
    if status == "all":
        return None
    if status == "active":
        return Registration.status.in_(ACTIVE_STATUSES)
    return Registration.status == status


def registrants(event: Event, filters: RegistrantFilters) -> Select[tuple[Registration]]:
    """The event's registrations with their people, filtered, searched and sorted."""
    stmt = (
        select(Registration)
        .join(Registration.user)
        .options(contains_eager(Registration.user))
        .where(Registration.event_id == event.id)
    )
    condition = status_condition(filters.status)
    if condition is not None:
        stmt = stmt.where(condition)
    for term in filters.q.split()[:5]:
        pattern = _like(term)
        stmt = stmt.where(
            or_(
                func.lower(User.name).like(pattern, escape="\\"),
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.affiliation).like(pattern, escape="\\"),
            )
        )
    return stmt.order_by(*SORTS[filters.sort])


# --- decisions ----------------------------------------------------------------------------


def _who(registration: Registration) -> dict[str, Any]:
    return {"registration": registration.id, "email": registration.user.email}


def approve(registration: Registration, actor: User | None, now: datetime) -> None:
    registration_services.approve_registration(registration, now)
    _log(registration.event, "approve", actor, now, **_who(registration))


def reject(registration: Registration, actor: User | None, now: datetime) -> None:
    registration_services.reject_registration(registration, now)
    _log(registration.event, "reject", actor, now, **_who(registration))


def cancel_on_behalf(registration: Registration, actor: User | None, now: datetime) -> None:
    if not registration.is_active:
        raise RegistrantsError(_("This registration is not active."))
    registration_services.cancel_registration(registration, now)
    _log(registration.event, "cancel_registration", actor, now, **_who(registration))


def promote(registration: Registration, actor: User | None, now: datetime) -> None:
    """Give a waiting person a place now, out of turn or after registration closed, as
    long as a place is free (the registration package's rule, lock and email)."""
    registration_services.promote_registration(registration, now)
    _log(registration.event, "promote", actor, now, **_who(registration))


def toggle_check_in(registration: Registration, actor: User | None, now: datetime) -> bool:
    """Check in (or undo it); only confirmed registrations come in. Returns the new state."""
    if registration.checked_in_at is not None:
        registration.checked_in_at = None
    else:
        if registration.status != RegistrationStatus.CONFIRMED:
            raise RegistrantsError(_("Only confirmed registrations can be checked in."))
        registration.checked_in_at = now
    registration.updated_at = now
    db.session.flush()
    checked_in = registration.checked_in_at is not None
    _log(
        registration.event,
        "check_in" if checked_in else "check_in_undo",
        actor,
        now,
        **_who(registration),
    )
    return checked_in


# --- messages to registrants ----------------------------------------------------------------


def recipients(event: Event, status: str) -> Select[tuple[User]]:
    stmt = (
        select(User)
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.event_id == event.id)
    )
    condition = status_condition("active" if status == "active" else status)
    if condition is not None:
        stmt = stmt.where(condition)
    return stmt.order_by(User.id).distinct()


def recipient_count(event: Event, status: str) -> int:
    return int(
        db.session.scalar(select(func.count()).select_from(recipients(event, status).subquery()))
        or 0
    )


def email_registrants(
    event: Event,
    status: str,
    subject: str,
    body: str,
    actor: User,
    now: datetime,
    event_url: str,
) -> int:
    """Queue one plain-text message per registrant (through the outbox); returns how many."""
    sent = 0
    for user in db.session.scalars(recipients(event, status)):
        queue_email(
            user.email,
            subject,
            "organiser_message",
            category="organiser_message",
            reply_to=actor.email,
            event=event,
            user=user,
            body=body,
            sender_name=event.organisation.name,
            event_url=event_url,
        )
        sent += 1
    _log(event, "email_registrants", actor, now, status=status, subject=subject, count=sent)
    return sent
