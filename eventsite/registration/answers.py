"""Answers to an event's questions: checked and stored with their labels, shown as words."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from eventsite import input_rules, templating
from eventsite.i18n import gettext as _
from eventsite.registration import forms as registration_forms
from eventsite.registration import rules
from eventsite.registration.models import Question, QuestionKind, Registration


def _plain(value: Any) -> Any:
    """JSON-friendly answer values (Decimal from number fields)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return value


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def build_answers(
    questions: Sequence[Question],
    values: Mapping[int, Any],
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Answers to store: one entry per active question with a snapshot of its label.

    Answers to questions that were removed since stay as they were. A required question
    without an answer is refused (the form says so first; this guards other callers).
    """
    answers: dict[str, Any] = {}
    active_ids = {str(q.id) for q in questions}
    for key, old in (previous or {}).items():
        if key not in active_ids:
            answers[key] = old
    for question in questions:
        value = _plain(values.get(question.id))
        if question.is_required and _is_empty(value):
            raise rules.RegistrationError(
                _("Please answer this question."), field=question.field_name
            )
        if question.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
            chosen = value if isinstance(value, list) else [value]
            if any(v not in question.options for v in chosen if v not in (None, "")):
                raise rules.RegistrationError(_("Not a valid choice."), field=question.field_name)
        problem = _problem(question, value)
        if problem is not None:
            raise rules.RegistrationError(problem, field=question.field_name)
        answers[str(question.id)] = {
            "label": question.label,
            "kind": str(question.kind),
            "position": question.position,
            "value": value,
        }
    return answers


def _problem(question: Question, value: Any) -> str | None:
    """What the form refuses, refused again for callers without the form (the API): a
    number within the bounds, text of the right length and lines."""
    if value is None:
        return None
    if question.kind == QuestionKind.NUMBER:
        limit = registration_forms.MAX_NUMBER
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value) or abs(value) >= limit:
            return _("Please enter a number between -%(max)s and %(max)s.", max=limit - 1)
    elif question.kind == QuestionKind.SHORT_TEXT and isinstance(value, str):
        if len(value) > registration_forms.MAX_SHORT_TEXT:
            return _(
                "Please keep it under %(max)d characters.", max=registration_forms.MAX_SHORT_TEXT
            )
        if not input_rules.is_single_line(value):
            return str(input_rules.SINGLE_LINE_MESSAGE)
    elif question.kind == QuestionKind.LONG_TEXT and isinstance(value, str):
        if len(value) > registration_forms.MAX_LONG_TEXT:
            return _(
                "Please keep it under %(max)d characters.", max=registration_forms.MAX_LONG_TEXT
            )
        if not input_rules.is_plain_text(value):
            return str(input_rules.PLAIN_TEXT_MESSAGE)
    return None


def format_answer(answer: Mapping[str, Any]) -> str:
    """An answer as words: lists joined, Yes/No for a checkbox, country names."""
    value = answer.get("value")
    kind = answer.get("kind")
    if kind == QuestionKind.CHECKBOX:
        return _("Yes") if value else _("No")
    if value is None or value == "" or value == []:
        return "—"
    if kind == QuestionKind.COUNTRY:
        return templating.country_name(str(value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def answer_rows(registration: Registration) -> list[tuple[str, str]]:
    """(label, answer) pairs in question order, for pages, emails and exports."""
    items = sorted(
        registration.answers.items(),
        key=lambda kv: (kv[1].get("position", 0), int(kv[0]) if kv[0].isdigit() else 0),
    )
    return [(str(a.get("label", "")), format_answer(a)) for _key, a in items]


def form_values(registration: Registration) -> dict[str, Any]:
    """Stored answers back as form data, keyed by field name."""
    return {f"q_{key}": a.get("value") for key, a in registration.answers.items()}
