"""Publishing refuses an event whose registration form nobody could submit, and says why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eventsite.errors import DomainError
from eventsite.events import services as event_services
from eventsite.extensions import db
from eventsite.models import Event, EventStatus, QuestionKind
from eventsite.registration import queries, rules

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_only_required_choice_questions_without_choices_are_unanswerable(
    make_event, make_question
) -> None:
    event = make_event()
    make_question(event, label="Name on badge", is_required=True)
    make_question(event, label="Size", kind=QuestionKind.SINGLE_CHOICE, is_required=True)
    make_question(event, label="Topics", kind=QuestionKind.MULTIPLE_CHOICE, is_required=True)
    make_question(event, label="Optional pick", kind=QuestionKind.SINGLE_CHOICE)
    make_question(
        event,
        label="Diet",
        kind=QuestionKind.SINGLE_CHOICE,
        is_required=True,
        options=["Vegan", "Any"],
    )
    unanswerable = rules.unanswerable_questions(queries.questions_for_event(event))
    assert [q.label for q in unanswerable] == ["Size", "Topics"]


def test_publishing_refuses_a_form_nobody_could_submit(make_event, make_question) -> None:
    draft = make_event(status=EventStatus.DRAFT, published_at=None)
    make_question(draft, label="T-shirt size", kind=QuestionKind.SINGLE_CHOICE, is_required=True)
    with pytest.raises(DomainError, match="“T-shirt size” has no choices"):
        event_services.publish_event(draft, NOW)
    db.session.rollback()
    db.session.expire_all()
    stored = db.session.get(Event, draft.id)
    assert stored.status == EventStatus.DRAFT and stored.published_at is None


def test_a_removed_unanswerable_question_does_not_block_publishing(
    make_event, make_question
) -> None:
    draft = make_event(status=EventStatus.DRAFT, published_at=None)
    make_question(
        draft, label="Size", kind=QuestionKind.SINGLE_CHOICE, is_required=True, is_active=False
    )
    make_question(
        draft, label="Diet", kind=QuestionKind.SINGLE_CHOICE, is_required=True, options=["A", "B"]
    )
    event_services.publish_event(draft, NOW)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Event, draft.id).status == EventStatus.PUBLISHED
