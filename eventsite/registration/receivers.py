"""What registration does when the events domain signals: registrants hear of changes, a
duplicated event gets the same questions, a draft people registered for stays."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import exists, select

from eventsite import signals
from eventsite.errors import DomainError
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.registration import notifications
from eventsite.registration.models import Question, Registration


class DraftHasRegistrations(DomainError):
    """People registered for the draft, so it cannot be deleted."""


@signals.event_changed.connect
def email_registrants_the_change(sender: Event, *, now: datetime, **_extra: object) -> None:
    notifications.notify_event_changed(sender, now)


@signals.event_cancelled.connect
def email_registrants_the_cancellation(sender: Event, *, now: datetime, **_extra: object) -> None:
    notifications.notify_event_cancelled(sender, now)


@signals.event_duplicated.connect
def copy_questions(sender: Event, *, copy: Event, now: datetime, **_extra: object) -> None:
    """The copy asks what the original asks now (its active questions, in order)."""
    questions = db.session.scalars(
        select(Question)
        .where(Question.event_id == sender.id, Question.is_active.is_(True))
        .order_by(Question.position, Question.id)
    ).all()
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


@signals.event_deleting.connect
def keep_drafts_with_registrations(sender: Event, **_extra: object) -> None:
    if db.session.scalar(select(exists().where(Registration.event_id == sender.id))):
        raise DraftHasRegistrations(
            _("People have registered for this draft, so it cannot be deleted.")
        )
