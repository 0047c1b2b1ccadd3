"""Fixtures for registration tests: questions, and registrations made through the service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from eventsite.extensions import db
from eventsite.models import Event, Question, QuestionKind, Registration, User
from eventsite.registration import services

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # as in tests/conftest.py


@pytest.fixture
def make_question(app) -> Callable[..., Question]:
    def factory(event: Event, **overrides: Any) -> Question:
        values: dict[str, Any] = {
            "kind": QuestionKind.SHORT_TEXT,
            "label": "Affiliation",
            "position": 0,
            "is_required": False,
            "options": [],
        }
        values.update(overrides)
        question = Question(event_id=event.id, **values)
        db.session.add(question)
        db.session.commit()
        return question

    return factory


@pytest.fixture
def register(app) -> Callable[..., Registration]:
    """Register through the service and commit, as the view does."""

    def do_register(
        user: User, event: Event, answers: dict[int, Any] | None = None, now: datetime = NOW
    ) -> Registration:
        registration = services.register_attendee(user, event, answers or {}, now)
        db.session.commit()
        return registration

    return do_register
