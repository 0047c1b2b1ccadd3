"""Loading the demonstration: every registration state shows, in words; loading twice adds
nothing; clearing removes the attendees."""

from __future__ import annotations

from sqlalchemy import func, select

from eventsite.demo import clear, load
from eventsite.extensions import db
from eventsite.models import Event, Image, Question, Registration, User
from eventsite.registration import queries, rules
from eventsite.timeutil import utcnow

FORUM = "world-forum-science-technology-openness-trust-cooperation"


def test_demo_registrations_show_every_state(app) -> None:
    now = utcnow()
    load.load_demo(now)
    db.session.commit()
    load.load_demo(now)  # a second load adds nothing
    db.session.commit()

    def state(slug: str) -> rules.RegistrationState:
        event = db.session.scalar(select(Event).where(Event.slug == slug))
        return rules.registration_state(event, now, queries.count_places(event, now))

    assert state(FORUM).message.endswith("places")  # plenty of places
    assert state("rural-broadband-workshop").message == "Only 6 places left"
    assert state("open-data-climate-adaptation-workshop").message == "Waiting list open"
    assert state("vaccine-manufacturing-access-workshop").requires_approval
    assert state("nairobi-digital-economy-summit").message.startswith("Registration opens on")
    assert state("ethics-of-gene-editing-lecture").message == "Registration closed"

    forum = db.session.scalar(select(Event).where(Event.slug == FORUM))
    questions = queries.questions_for_event(forum)
    assert {q.kind for q in questions} == {
        "single_choice", "multiple_choice", "long_text", "checkbox"
    }  # fmt: skip
    # The form's person block asks name, affiliation and country: no question repeats them.
    assert not {"Affiliation", "Country of residence"} & {q.label for q in questions}
    sessions_question = next(q for q in questions if q.kind == "multiple_choice")
    assert sessions_question.options == [s.title for s in forum.sessions][:6]
    assert db.session.scalar(select(func.count()).select_from(Question)) == 10
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 181
    assert db.session.scalar(select(func.count()).select_from(User)) == 80

    clear.clear_attendees()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_the_demo_has_pictures_and_clearing_it_deletes_them(app, client) -> None:
    load.load_programme(utcnow())
    db.session.commit()
    forum = db.session.scalar(select(Event).where(Event.slug == FORUM))
    assert forum.cover_image.alt.startswith("Abstract pattern")
    assert forum.organisation.logo_image.alt == forum.organisation.name
    speakers = [s for session in forum.sessions for s in session.speakers]
    assert speakers and all(s.photo_image for s in speakers)
    cover = forum.cover_image.largest["jpeg"]
    assert client.get(f"/images/{cover}").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Image)) > 0

    clear.clear_programme()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Image)) == 0
    assert client.get(f"/images/{cover}").status_code == 404
