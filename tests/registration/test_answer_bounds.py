"""The registration service refuses what the form refuses, for callers without the form
(the API, imports): numbers out of bounds, text with line breaks or control characters."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import QuestionKind, Registration
from eventsite.registration import rules, services

NUMBER_RANGE = "Please enter a number between -999999999 and 999999999."
ONE_LINE = "Please keep this on one line: no line breaks, tabs or invisible control characters."
MULTI_LINE = "Please remove the invisible control characters from this text."


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (QuestionKind.NUMBER, 10**20, NUMBER_RANGE),
        (QuestionKind.NUMBER, 2**64, NUMBER_RANGE),
        (QuestionKind.NUMBER, Decimal("1e9"), NUMBER_RANGE),
        (QuestionKind.NUMBER, float("inf"), NUMBER_RANGE),
        (QuestionKind.NUMBER, float("nan"), NUMBER_RANGE),
        (QuestionKind.NUMBER, "12", NUMBER_RANGE),
        (QuestionKind.SHORT_TEXT, "CERN\r\nBcc: victim@example.org", ONE_LINE),
        (QuestionKind.SHORT_TEXT, "x" * 501, "Please keep it under 500 characters."),
        (QuestionKind.LONG_TEXT, "Hello\x00", MULTI_LINE),
        (QuestionKind.LONG_TEXT, "x" * 5001, "Please keep it under 5000 characters."),
    ],
)
def test_the_service_refuses_answers_the_form_would_refuse(
    app, make_event, make_user, make_question, kind, value, message
) -> None:
    event = make_event(capacity=10)
    question = make_question(event, kind=kind, label="Answer")
    with pytest.raises(rules.RegistrationError, match=message) as refused:
        services.register_attendee(make_user(), event, {question.id: value}, event.starts_at)
    assert refused.value.field == question.field_name
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_answers_within_the_bounds_are_stored(app, make_event, make_user, make_question) -> None:
    event = make_event(capacity=10)
    number = make_question(event, kind=QuestionKind.NUMBER, label="Guests", position=0)
    text = make_question(event, kind=QuestionKind.LONG_TEXT, label="Why?", position=1)
    answers = {number.id: Decimal("999999999.5"), text.id: "Line one\r\n\tline two"}
    registration = services.register_attendee(make_user(), event, answers, event.starts_at)
    db.session.commit()
    assert registration.answers[str(number.id)]["value"] == 999999999.5
    assert registration.answers[str(text.id)]["value"] == "Line one\r\n\tline two"
