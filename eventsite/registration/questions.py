"""The questions of an event's registration form: adding, editing, reordering, removing.

Removing a question only takes it off the form: the answers already given keep their own
snapshot of its label, so pages and exports stay readable. The workspace records each
change in its audit log; these functions return what it needs for that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from eventsite.errors import DomainError
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.registration import queries
from eventsite.registration.models import CHOICE_KINDS, Question, QuestionKind

MIN_CHOICES = 2


class QuestionError(DomainError):
    """A rule about the registration form's questions refused the change."""


@dataclass(frozen=True)
class QuestionValues:
    """What an organiser says about a question."""

    label: str
    kind: QuestionKind
    help_text: str = ""
    is_required: bool = False
    options: tuple[str, ...] = ()  # the choices of a choice question, in order

    def columns(self) -> dict[str, Any]:
        """The values as columns: choices only for a choice question, at least two."""
        options = list(self.options) if self.kind in CHOICE_KINDS else []
        if self.kind in CHOICE_KINDS and len(options) < MIN_CHOICES:
            raise QuestionError(_("Give at least two choices, one per line."), field="options")
        return {
            "label": self.label,
            "kind": self.kind,
            "help_text": self.help_text,
            "is_required": self.is_required,
            "options": options,
        }


def add_question(event: Event, values: QuestionValues, now: datetime) -> Question:
    """A new question at the end of the form."""
    columns = values.columns()
    last = db.session.scalar(
        select(func.max(Question.position)).where(Question.event_id == event.id)
    )
    question = Question(
        event_id=event.id,
        position=(last + 1) if last is not None else 0,
        created_at=now,
        **columns,
    )
    db.session.add(question)
    db.session.flush()
    return question


def update_question(question: Question, values: QuestionValues) -> dict[str, tuple[Any, Any]]:
    """Change the question; returns what changed, {field: (old, new)}. Answers already
    given keep their own snapshot of the label, so they stay readable."""
    columns = values.columns()
    changed = {
        name: (getattr(question, name), new)
        for name, new in columns.items()
        if getattr(question, name) != new
    }
    for name, (_old, new) in changed.items():
        setattr(question, name, new)
    if changed:
        db.session.flush()
    return changed


def move_question(question: Question, direction: int) -> None:
    """One place up (-1) or down (+1) among the questions on the form."""
    active = queries.questions_for_event(question.event)
    if question not in active:
        raise QuestionError(_("A removed question has no place in the form."))
    index = active.index(question)
    other = index + direction
    if direction not in (-1, 1) or not 0 <= other < len(active):
        raise QuestionError(_("This question cannot move further."))
    active[index], active[other] = active[other], active[index]
    # Renumber the active questions; removed ones keep their old positions (exports).
    for position, item in enumerate(active):
        item.position = position
    db.session.flush()


def remove_question(question: Question) -> bool:
    """Take the question off the form (its answers stay); False when it was off already."""
    if not question.is_active:
        return False
    question.is_active = False
    db.session.flush()
    return True


def restore_question(question: Question) -> bool:
    """Put a removed question back on the form; False when it was on it already."""
    if question.is_active:
        return False
    question.is_active = True
    db.session.flush()
    return True


def copy_questions(source: Event, target: Event, now: datetime) -> list[Question]:
    """The questions on `source`'s form, in order, added to `target`'s (a duplicated event)."""
    copies = [
        Question(
            event_id=target.id,
            position=question.position,
            kind=question.kind,
            label=question.label,
            help_text=question.help_text,
            is_required=question.is_required,
            options=list(question.options or []),
            created_at=now,
        )
        for question in queries.questions_for_event(source)
    ]
    db.session.add_all(copies)
    db.session.flush()
    return copies
