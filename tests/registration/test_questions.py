"""The registration form's questions: added at the end, edited with a record of what
changed, reordered among the active ones, removed and restored without losing answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eventsite.extensions import db
from eventsite.models import QuestionKind
from eventsite.registration import queries, questions

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
Values = questions.QuestionValues


def labels(event) -> list[str]:
    return [q.label for q in queries.questions_for_event(event)]


def test_a_new_question_goes_at_the_end(make_event, make_question) -> None:
    event = make_event()
    make_question(event, label="Affiliation", position=0)
    added = questions.add_question(event, Values("Diet", QuestionKind.SHORT_TEXT), NOW)
    db.session.commit()
    assert added.position == 1 and added.created_at == NOW
    assert labels(event) == ["Affiliation", "Diet"]


def test_a_choice_question_needs_two_choices_and_only_a_choice_question_keeps_them(
    make_event,
) -> None:
    event = make_event()
    with pytest.raises(questions.QuestionError, match="at least two choices") as refused:
        questions.add_question(
            event, Values("Size", QuestionKind.SINGLE_CHOICE, options=("M",)), NOW
        )
    assert refused.value.field == "options"
    text = questions.add_question(
        event, Values("Name", QuestionKind.SHORT_TEXT, options=("x",)), NOW
    )
    assert text.options == []


def test_editing_returns_what_changed(make_event, make_question) -> None:
    event = make_event()
    question = make_question(event, label="Diet")
    changed = questions.update_question(
        question, Values("Dietary needs", QuestionKind.SHORT_TEXT, is_required=True)
    )
    assert changed == {"label": ("Diet", "Dietary needs"), "is_required": (False, True)}
    assert (
        questions.update_question(
            question, Values("Dietary needs", QuestionKind.SHORT_TEXT, is_required=True)
        )
        == {}
    )


def test_moving_reorders_the_active_questions_and_stops_at_the_ends(
    make_event, make_question
) -> None:
    event = make_event()
    first = make_question(event, label="First", position=0)
    second = make_question(event, label="Second", position=1)
    questions.move_question(second, -1)
    assert labels(event) == ["Second", "First"]
    with pytest.raises(questions.QuestionError, match="cannot move further"):
        questions.move_question(second, -1)
    questions.remove_question(first)
    with pytest.raises(questions.QuestionError, match="removed question"):
        questions.move_question(first, 1)


def test_removing_and_restoring_say_whether_anything_changed(make_event, make_question) -> None:
    event = make_event()
    question = make_question(event)
    assert questions.remove_question(question) is True
    assert questions.remove_question(question) is False
    assert labels(event) == []
    assert questions.restore_question(question) is True
    assert questions.restore_question(question) is False
    assert labels(event) == ["Affiliation"]


def test_copying_takes_the_active_questions_in_order(make_event, make_question) -> None:
    source, target = make_event(), make_event()
    make_question(source, label="B", position=1)
    make_question(source, label="A", position=0, kind=QuestionKind.SINGLE_CHOICE,
                  options=["x", "y"])  # fmt: skip
    make_question(source, label="Removed", position=2, is_active=False)
    copies = questions.copy_questions(source, target, NOW)
    db.session.commit()
    assert labels(target) == ["A", "B"]
    assert copies[0].options == ["x", "y"] and copies[0].created_at == NOW


@pytest.mark.parametrize("kind", [QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE])
def test_a_choice_question_without_any_choice_is_refused_added_or_edited(
    make_event, make_question, kind
) -> None:
    event = make_event()
    with pytest.raises(questions.QuestionError, match="at least two choices"):
        questions.add_question(event, Values("Size", kind, options=()), NOW)
    existing = make_question(event, label="Size", kind=kind, options=["S", "M"])
    with pytest.raises(questions.QuestionError, match="at least two choices"):
        questions.update_question(existing, Values("Size", kind, options=()))
    db.session.rollback()
    db.session.expire_all()
    assert [q.options for q in queries.questions_for_event(event)] == [["S", "M"]]
