"""The demonstration data shows every registration state, in words."""

from __future__ import annotations

from sqlalchemy import func, select

from eventsite.events import demo as events_demo
from eventsite.extensions import db
from eventsite.models import Event, Question, Registration
from eventsite.registration import demo, queries, services
from eventsite.timeutil import utcnow


def test_demo_registrations_show_every_state(app) -> None:
    now = utcnow()
    events_demo.load_demo(now)
    demo.load_registration_demo(now)
    db.session.commit()
    demo.load_registration_demo(now)  # a second load adds nothing
    db.session.commit()

    def state(slug: str) -> services.RegistrationState:
        event = db.session.scalar(select(Event).where(Event.slug == slug))
        return services.registration_state(event, now, queries.count_places(event))

    assert state(demo.FORUM).message.endswith("places")  # plenty of places
    assert state(demo.BROADBAND).message == "Only 6 places left"
    assert state(demo.OPEN_DATA).message == "Waiting list open"
    assert state(demo.VACCINES).requires_approval
    assert state(demo.NAIROBI).message.startswith("Registration opens on")
    assert state(demo.GENE_EDITING).message == "Registration closed"

    forum = db.session.scalar(select(Event).where(Event.slug == demo.FORUM))
    kinds = {q.kind for q in queries.questions_for_event(forum)}
    assert kinds >= {"short_text", "country", "single_choice", "multiple_choice", "checkbox"}
    assert db.session.scalar(select(func.count()).select_from(Question)) == 18
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 181

    demo.clear_registration_demo()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
