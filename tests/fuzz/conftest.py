"""The fuzz suite's settings profiles and its small world of objects to aim at.

Every target first gets its canonical examples (plans.canonical_plans: each field's few
hostile values alone, then all fields at once), then random ones. Profiles (choose with
the HYPOTHESIS_PROFILE environment variable):
- `fuzz` (the default): derandomized (the same examples every run, so `make test` is
  reproducible), 5 random examples per form (fewer for bare buttons), the canonical ones
  only on PostgreSQL, no example database on disk, and no shrinking: each shrinking step
  is a request, and a failure would cost half a minute. Long strings and files print
  short, so a failing example is readable as found.
- `shrink`: the same examples, a failure shrunk to a minimal example (to report a bug).
- `long`: random, 20 times the examples, with shrinking, and random examples on
  PostgreSQL too: a hunt before a release. A failure prints the `@reproduce_failure`
  blob that replays it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from eventsite.extensions import db
from eventsite.models import Question, QuestionKind, Topic

from ..organiser.conftest import World, make_world  # noqa: F401  (fixture used by `site`)
from .harness import PROFILE, Site

# Each test builds its app (the `app` fixture is function-scoped) and runs its examples
# inside with an inner @given, so Hypothesis never sees a function-scoped fixture.
settings.register_profile(
    "fuzz",
    derandomize=True,
    deadline=None,
    database=None,
    max_examples=5,
    print_blob=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    # Examples of 200 kB are meant, and so are slow endpoints.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("shrink", parent=settings.get_profile("fuzz"), phases=list(Phase))
settings.register_profile(
    "long",
    parent=settings.get_profile("fuzz"),
    derandomize=False,
    max_examples=100,
    phases=list(Phase),
    print_blob=True,
)
settings.load_profile(PROFILE)


def add_questions(event: Any) -> list[Question]:
    """One optional question of every kind after the world's "Affiliation"."""
    options = {
        QuestionKind.SINGLE_CHOICE: ["Vegetarian", "Vegan", "None"],
        QuestionKind.MULTIPLE_CHOICE: ["Monday", "Tuesday", "Wednesday"],
    }
    questions = [
        Question(
            event=event,
            label=f"A {kind.value} question",
            kind=kind,
            position=position,
            options=options.get(kind, []),
        )
        for position, kind in enumerate(QuestionKind, start=1)
        if kind != QuestionKind.SHORT_TEXT
    ]
    db.session.add_all(questions)
    db.session.commit()
    return questions


@pytest.fixture
def site(
    app: Any,
    backend: str,
    make_world: Callable[[], World],  # noqa: F811
    make_user: Callable[..., Any],
    make_event: Callable[..., Any],
    make_session: Callable[..., Any],
) -> Site:
    world = make_world()
    world.question.is_required = True
    questions = [world.question, *add_questions(world.event)]
    topic = Topic(name="Climate", slug="climate")
    world.event.topics.append(topic)
    world.event.requires_approval = False  # registrations are confirmed at once
    world.event.capacity = None
    db.session.commit()
    return Site(
        app=app,
        backend=backend,
        world=world,
        topic=topic,
        questions=questions,
        make_user=make_user,
        make_event=make_event,
        make_session=make_session,
    )
