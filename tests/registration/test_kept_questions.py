"""An event's questions are kept by the catalogue's stamp (`queries.questions_for_event`):
a second registration reads them no more, and an organiser's change is asked at once."""

from __future__ import annotations

from sqlalchemy import select

from eventsite.extensions import db
from eventsite.registration.models import Question, Registration


def _reads_of(statements: list[str], table: str) -> list[str]:
    return [s for s in statements if f"FROM {table}" in s]


def test_a_second_registration_reads_no_questions_yet_checks_them(
    client, login, make_event, make_user, make_question, count_queries
) -> None:
    event = make_event(capacity=5)
    question = make_question(event, label="Affiliation", is_required=True)
    url, field, key = f"/events/{event.slug}/register", question.field_name, str(question.id)
    login(make_user())
    assert client.post(url, data={field: "CERN"}).status_code == 302

    login(make_user())
    with count_queries() as refused_counter:
        refused = client.post(url, data={})
    with count_queries() as kept_counter:
        kept = client.post(url, data={field: "ESO"})

    assert refused.status_code == 422
    assert "Please answer this question." in refused.get_data(as_text=True)
    assert kept.status_code == 302
    for counter in (refused_counter, kept_counter):
        assert _reads_of(counter.statements, "registration_questions") == []
    answers = db.session.scalars(select(Registration.answers).order_by(Registration.id)).all()
    assert [a[key]["value"] for a in answers] == ["CERN", "ESO"]


def test_a_question_added_is_asked_of_the_very_next_person(
    client, login, make_event, make_user, make_question
) -> None:
    event = make_event(capacity=5)
    url = f"/events/{event.slug}/register"
    login(make_user())
    assert client.post(url, data={}).status_code == 302  # no questions, and kept so

    question = make_question(event, label="Dietary needs", is_required=True)
    login(make_user())
    refused = client.post(url, data={})
    form = client.get(url).get_data(as_text=True)
    kept = client.post(url, data={question.field_name: "Vegan"})

    assert refused.status_code == 422
    assert "Please answer this question." in refused.get_data(as_text=True)
    assert "Dietary needs" in form
    assert kept.status_code == 302
    latest = db.session.scalars(select(Registration).order_by(Registration.id.desc())).first()
    assert latest.answers[str(question.id)]["value"] == "Vegan"
    assert latest.answers[str(question.id)]["label"] == "Dietary needs"


def test_a_question_removed_is_no_longer_asked(
    client, login, make_event, make_user, make_question
) -> None:
    event = make_event(capacity=5)
    question_id = make_question(event, label="Dietary needs", is_required=True).id
    url = f"/events/{event.slug}/register"
    db.session.remove()  # each request as on a server: nothing of the test's session shared
    assert "Dietary needs" in client.get(url).get_data(as_text=True)  # a visitor's form

    question = db.session.get(Question, question_id)
    question.is_active = False
    db.session.commit()
    db.session.remove()
    form = client.get(url).get_data(as_text=True)
    login(make_user())
    posted = client.post(url, data={})

    assert "Dietary needs" not in form
    assert posted.status_code == 302
