"""Registering and managing a registration through the pages."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from eventsite import create_app
from eventsite.extensions import db
from eventsite.mail import services as mail
from eventsite.mail.sender import deliver_due
from eventsite.models import (
    JoinedVia,
    Membership,
    OutboxMessage,
    QuestionKind,
    Registration,
    RegistrationStatus,
)
from eventsite.registration import answers as registration_answers
from eventsite.registration import services
from eventsite.timeutil import utcnow


def count_registrations(event, status: str | None = None) -> int:
    stmt = select(func.count()).select_from(Registration).where(Registration.event_id == event.id)
    if status:
        stmt = stmt.where(Registration.status == status)
    return db.session.scalar(stmt) or 0


@pytest.fixture
def questions(make_event, make_question):
    """An event with one question of every kind."""
    event = make_event(capacity=10, title="Open Science Forum")
    made = {
        "affiliation": make_question(event, label="Affiliation", is_required=True, position=0),
        "motivation": make_question(
            event, kind=QuestionKind.LONG_TEXT, label="Why come?", position=1
        ),
        "diet": make_question(
            event,
            kind=QuestionKind.SINGLE_CHOICE,
            label="Dietary needs",
            options=["None", "Vegetarian", "Vegan"],
            is_required=True,
            position=2,
        ),
        "sessions": make_question(
            event,
            kind=QuestionKind.MULTIPLE_CHOICE,
            label="Which sessions will you attend?",
            options=["Opening", "Panel", "Closing"],
            is_required=True,
            position=3,
        ),
        "conduct": make_question(
            event,
            kind=QuestionKind.CHECKBOX,
            label="I accept the code of conduct",
            is_required=True,
            help_text="Read it on the event page.",
            position=4,
        ),
        "country": make_question(
            event, kind=QuestionKind.COUNTRY, label="Country", is_required=True, position=5
        ),
        "guests": make_question(
            event, kind=QuestionKind.NUMBER, label="Guests", is_required=False, position=6
        ),
    }
    return event, made


def valid_form(made) -> dict[str, object]:
    return {
        made["affiliation"].field_name: "CERN",
        made["motivation"].field_name: "To meet people.",
        made["diet"].field_name: "Vegan",
        made["sessions"].field_name: ["Opening", "Closing"],
        made["conduct"].field_name: "y",
        made["country"].field_name: "KE",
        made["guests"].field_name: "2",
    }


# --- getting to the form -----------------------------------------------------------------------


def test_anonymous_visitor_gets_the_one_step_form_with_a_log_in_link(client, questions) -> None:
    event, made = questions
    response = client.get(f"/events/{event.slug}/register")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for name in ("name", "email", "affiliation", "country"):
        assert f'name="{name}"' in page
    assert page.index('name="email"') < page.index(made["affiliation"].field_name)
    assert 'name="update_profile"' not in page  # no profile to update
    assert "Already have an account?" in page
    assert f'href="/login?next=/events/{event.slug}/register"' in page


def test_unknown_or_draft_event_is_404(client, login, make_user, make_event) -> None:
    login(make_user())
    assert client.get("/events/nope/register").status_code == 404
    draft = make_event(status="draft")
    assert client.get(f"/events/{draft.slug}/register").status_code == 404


def test_form_shows_account_details_every_question_and_a_honeypot(
    client, login, make_user, questions
) -> None:
    event, made = questions
    login(make_user(name="Ada Lovelace", email="ada@example.org"))
    response = client.get(f"/events/{event.slug}/register")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="name"' in page and 'value="Ada Lovelace"' in page  # from the profile
    assert "ada@example.org" in page and 'name="email"' not in page  # the account's
    assert "Also update my profile" in page
    assert (
        'name="update_profile"' in page
        and "checked" not in page.split('name="update_profile"')[1][:40]
    )
    for question in made.values():
        assert question.label in page
        assert f'name="{question.field_name}"' in page
    assert "Read it on the event page." in page
    assert 'type="radio"' in page and 'type="checkbox"' in page
    assert "<textarea" in page and "<select" in page
    assert '<option value="KE">Kenya</option>' in page
    assert "Leave this empty" in page
    assert 'autocomplete="off"' in page
    assert 'class="field honeypot"' in page
    assert 'aria-invalid="None"' not in page and 'aria-describedby="None"' not in page


# --- submitting --------------------------------------------------------------------------------


def test_valid_submission_registers_and_shows_the_registration(
    client, login, make_user, questions
) -> None:
    event, made = questions
    user = make_user()
    login(user)
    response = client.post(f"/events/{event.slug}/register", data=valid_form(made))
    assert response.status_code == 302
    registration = db.session.scalar(select(Registration).where(Registration.user_id == user.id))
    assert registration is not None
    assert response.headers["Location"] == f"/registrations/{registration.public_id}?registered=now"
    assert registration.status == RegistrationStatus.CONFIRMED
    answers = {a["label"]: a["value"] for a in registration.answers.values()}
    assert answers == {
        "Affiliation": "CERN",
        "Why come?": "To meet people.",
        "Dietary needs": "Vegan",
        "Which sessions will you attend?": ["Opening", "Closing"],
        "I accept the code of conduct": True,
        "Country": "KE",
        "Guests": 2,
    }
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You are registered" in page
    assert "Confirmed" in page
    assert "Opening, Closing" in page and "Kenya" in page
    # The confirmation email, written with the registration: the sender queues it.
    assert registration.pending_notice["template"] == "registration_confirmation"
    assert len(mail.queue_pending()) == 1
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_invalid_submission_shows_messages_next_to_fields_and_keeps_values(
    client, login, make_user, questions
) -> None:
    event, made = questions
    login(make_user())
    data = valid_form(made)
    data.update(
        {
            made["affiliation"].field_name: "",
            made["motivation"].field_name: "Typed text stays.",
            made["diet"].field_name: "Carnivore",
            made["sessions"].field_name: [],
            made["country"].field_name: "XX",
            made["guests"].field_name: "two",
        }
    )
    del data[made["conduct"].field_name]
    response = client.post(f"/events/{event.slug}/register", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Please correct the answers marked below." in page
    assert "Please answer this question." in page
    assert "Please choose one of the options." in page
    assert "Please choose at least one option." in page
    assert "Please tick this box to continue." in page
    assert "Please choose a country from the list." in page
    assert "Please enter a number, for example 3 or 2.5." in page
    assert "Typed text stays." in page
    assert f'id="{made["affiliation"].field_name}-errors"' in page
    assert count_registrations(event) == 0


def test_the_form_follows_each_edit_of_its_questions_and_the_readers_language(
    client, login, make_user, make_event, make_question
) -> None:
    """The form's class is kept per shape of the questions and language: an edited label,
    new choices, a question made required, and another language each make their own."""
    event = make_event(capacity=5)
    diet = make_question(
        event, kind=QuestionKind.SINGLE_CHOICE, label="Diet", options=["Any", "Vegan"]
    )
    login(make_user())
    path = f"/events/{event.slug}/register"
    page = client.get(path).get_data(as_text=True)
    assert "Diet" in page and "Vegan" in page and "Kosher" not in page

    diet.label, diet.options, diet.is_required = "Dietary needs", ["Any", "Kosher"], True
    db.session.commit()
    page = client.get(path).get_data(as_text=True)
    assert "Dietary needs" in page and "Kosher" in page and "Vegan" not in page
    refused = client.post(path, data={})
    assert refused.status_code == 422
    assert "Please choose an option." in refused.get_data(as_text=True)
    refused = client.post(f"{path}?lang=fr", data={})
    assert refused.status_code == 422
    assert "Veuillez choisir une option." in refused.get_data(as_text=True)
    assert count_registrations(event) == 0
    assert client.post(path, data={diet.field_name: "Kosher"}).status_code == 302
    assert count_registrations(event, "confirmed") == 1


def test_overlong_text_is_refused_with_a_message(client, login, make_user, questions) -> None:
    event, made = questions
    login(make_user())
    data = valid_form(made)
    data[made["motivation"].field_name] = "x" * 5001
    response = client.post(f"/events/{event.slug}/register", data=data)
    assert response.status_code == 422
    assert "Please keep it under 5000 characters." in response.get_data(as_text=True)


def test_optional_questions_may_stay_empty(client, login, make_user, make_event, make_question):
    event = make_event(capacity=5)
    make_question(event, kind=QuestionKind.NUMBER, label="Guests")
    make_question(event, kind=QuestionKind.SINGLE_CHOICE, label="Diet", options=["A", "B"])
    make_question(event, kind=QuestionKind.COUNTRY, label="Country")
    login(make_user())
    response = client.post(f"/events/{event.slug}/register", data={})
    assert response.status_code == 302
    assert count_registrations(event, "confirmed") == 1


def test_honeypot_pretends_success_and_creates_nothing(client, login, make_user, questions) -> None:
    event, made = questions
    login(make_user())
    data = {**valid_form(made), "website": "http://spam.example"}
    response = client.post(f"/events/{event.slug}/register", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/events/{event.slug}"
    assert count_registrations(event) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_double_submit_shows_the_existing_registration(client, login, make_user, questions) -> None:
    event, made = questions
    login(make_user())
    first = client.post(f"/events/{event.slug}/register", data=valid_form(made))
    second = client.post(f"/events/{event.slug}/register", data=valid_form(made))
    assert second.status_code == 302
    assert first.headers["Location"].endswith("?registered=now")
    assert second.headers["Location"].endswith("?registered=before")
    assert second.headers["Location"].split("?")[0] == first.headers["Location"].split("?")[0]
    assert count_registrations(event) == 1
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "You are already registered for this event." in page
    assert "A confirmation is on its way" not in page
    # The form itself now leads to the registration too.
    again = client.get(f"/events/{event.slug}/register")
    assert again.headers["Location"] == first.headers["Location"].split("?")[0]


def test_the_registration_page_says_what_the_post_did_without_rewriting_the_session(
    client, login, make_user, make_event, make_organisation, make_member
) -> None:
    organisation = make_organisation()
    event = make_event(capacity=1, has_waiting_list=True, organisation=organisation)
    login(make_user())
    client.get(f"/events/{event.slug}/register")  # Flask-Login settles the session
    first = client.post(f"/events/{event.slug}/register", data={})
    assert "Set-Cookie" not in first.headers  # no flashed message stored in the cookie
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "You are registered. A confirmation is on its way to your inbox." in page
    login(make_user())
    waiting = client.post(f"/events/{event.slug}/register", data={})
    page = client.get(waiting.headers["Location"]).get_data(as_text=True)
    assert "The event is full: you are on the waiting list." in page
    assert "You are registered." not in page
    # Someone else given the address (the organiser) is not told they registered.
    login(make_member(organisation))
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "You are registered." not in page


def test_the_notice_is_gone_once_the_registration_is_cancelled(
    client, login, make_user, make_event
) -> None:
    event = make_event(capacity=5)
    login(make_user())
    address = client.post(f"/events/{event.slug}/register", data={}).headers["Location"]
    registration = db.session.scalar(select(Registration).where(Registration.event_id == event.id))
    services.cancel_registration(registration, utcnow())
    db.session.commit()
    page = client.get(address).get_data(as_text=True)
    assert "You are registered." not in page


def test_unverified_account_gets_a_held_place_and_the_link(
    client, login, make_user, make_event
) -> None:
    event = make_event(capacity=5, confirmation_hold_hours=24)
    user = make_user(email_verified_at=None)
    login(user)
    page = client.get(f"/events/{event.slug}/register").get_data(as_text=True)
    assert "Please confirm your email address first" not in page
    assert "we hold your place and email you a link" in page
    response = client.post(f"/events/{event.slug}/register", data={})
    assert response.status_code == 200
    assert "Check your email" in response.get_data(as_text=True)
    registration = db.session.scalar(select(Registration))
    assert registration.status == RegistrationStatus.CONFIRMED
    assert registration.hold_expires_at == registration.created_at + timedelta(hours=24)
    (message,) = db.session.scalars(select(OutboxMessage)).all()
    assert message.to_address == user.email
    assert "/registrations/confirm/" in message.body_text


def test_full_event_without_waiting_list_says_so(
    client, login, make_user, make_event, register
) -> None:
    event = make_event(capacity=1)
    register(make_user(), event, now=utcnow())
    login(make_user())
    response = client.post(f"/events/{event.slug}/register", data={})
    assert response.status_code == 422
    assert "This event is full" in response.get_data(as_text=True)


def test_full_event_with_waiting_list_shows_rank(
    client, login, make_user, make_event, register
) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    register(make_user(), event, now=utcnow())
    register(make_user(), event, now=utcnow())
    login(make_user())
    response = client.post(f"/events/{event.slug}/register", data={})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "On the waiting list" in page
    assert "You are number 2 on the waiting list." in page


def test_approval_event_registers_as_pending(client, login, make_user, make_event) -> None:
    event = make_event(capacity=5, requires_approval=True)
    login(make_user())
    response = client.post(f"/events/{event.slug}/register", data={})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Awaiting approval" in page
    assert count_registrations(event, "pending") == 1


# --- the event page box ------------------------------------------------------------------------


def _event_page(client, event) -> str:
    response = client.get(f"/events/{event.slug}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_event_page_box_shows_register_and_places(client, make_event) -> None:
    event = make_event(capacity=120)
    page = _event_page(client, event)
    assert "registration-box" in page
    assert "120 places" in page
    assert f'href="/events/{event.slug}/register"' in page
    assert "No account needed." in page


def test_event_page_box_shows_a_few_places_left_and_own_registration(
    client, login, make_user, make_event, register
) -> None:
    event = make_event(capacity=5)
    for _ in range(1):
        register(make_user(), event, now=utcnow())
    assert "Only 4 places left" in _event_page(client, event)
    user = make_user()
    registration = register(user, event, now=utcnow())
    login(user)
    page = _event_page(client, event)
    assert f'href="/registrations/{registration.public_id}"' in page
    assert "Confirmed" in page


def test_event_page_box_says_why_registration_is_closed(client, make_event) -> None:
    event = make_event(registration_closes_at=utcnow() - timedelta(hours=1))
    page = _event_page(client, event)
    assert "Registration closed" in page
    assert f'href="/events/{event.slug}/register"' not in page


# --- the registration page and who sees it ------------------------------------------------------


def test_links_to_a_registration_carry_a_random_public_id_not_its_number(
    smtp_sink, client, login, make_user, make_event
) -> None:
    event = make_event(title="Ocean Day")
    owner = make_user(email="owner@example.org")
    login(owner)
    response = client.post(f"/events/{event.slug}/register")
    registration = db.session.scalar(select(Registration).where(Registration.user_id == owner.id))
    public_id = registration.public_id
    assert len(public_id) == 16 and not public_id.isdigit()
    assert response.headers["Location"] == f"/registrations/{public_id}?registered=now"

    deliver_due()
    _controller, handler = smtp_sink
    [envelope] = handler.messages
    text = email.message_from_bytes(envelope.content, policy=email.policy.default)
    lines = text.get_body(("plain",)).get_content().splitlines()
    assert f"http://localhost/registrations/{public_id}" in lines
    assert f"http://localhost/registrations/{registration.id}" not in lines
    assert client.get(f"/registrations/{public_id}").status_code == 200

    # The numbered address of links sent before takes the owner there, and only the owner.
    numbered = f"/registrations/{registration.id}"
    moved = client.get(numbered)
    assert moved.status_code == 301
    assert moved.headers["Location"] == f"/registrations/{public_id}"
    assert client.get(f"{numbered}/edit").status_code == 404
    assert client.post(f"{numbered}/cancel").status_code == 404
    login(make_user())
    assert client.get(numbered).status_code == 404
    assert client.get(f"/registrations/{public_id}").status_code == 404


def test_registration_page_is_for_owner_organisers_and_admins_only(
    client, login, make_user, make_event, register
) -> None:
    event = make_event()
    owner = make_user()
    registration = register(owner, event, now=utcnow())
    url = f"/registrations/{registration.public_id}"

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert urlsplit(anonymous.headers["Location"]).path == "/login"

    login(make_user())
    assert client.get(url).status_code == 404
    assert client.get("/registrations/999999").status_code == 404

    organiser = make_user()
    db.session.add(
        Membership(
            user_id=organiser.id,
            organisation_id=event.organisation_id,
            joined_via=JoinedVia.INVITATION,
        )
    )
    db.session.commit()
    login(organiser)
    page = client.get(url)
    assert page.status_code == 200
    assert f"Registration of <bdi>{owner.name}</bdi>" in page.get_data(as_text=True)
    assert "Cancel registration" not in page.get_data(as_text=True)

    login(make_user(is_admin=True))
    assert client.get(url).status_code == 200

    login(owner)
    assert "Your registration" in client.get(url).get_data(as_text=True)


def test_others_cannot_cancel_or_edit(client, login, make_user, make_event, register) -> None:
    event = make_event()
    registration = register(make_user(), event, now=utcnow())
    login(make_user())
    assert client.post(f"/registrations/{registration.public_id}/cancel").status_code == 404
    assert client.get(f"/registrations/{registration.public_id}/edit").status_code == 404
    db.session.refresh(registration)
    assert registration.status == RegistrationStatus.CONFIRMED


def test_registration_page_has_no_n_plus_one(
    client, login, make_user, make_event, make_question, register, count_queries
) -> None:
    def queries_for(n_questions: int) -> int:
        event = make_event(capacity=1, has_waiting_list=True)
        made = [make_question(event, label=f"Q{i}", position=i) for i in range(n_questions)]
        register(make_user(), event, now=utcnow())
        user = make_user()
        registration = register(user, event, {q.id: f"A{q.id}" for q in made}, now=utcnow())
        login(user)
        db.session.expire_all()
        with count_queries() as counter:
            response = client.get(f"/registrations/{registration.public_id}")
        assert response.status_code == 200
        assert "You are number 1 on the waiting list." in response.get_data(as_text=True)
        return counter.count

    assert queries_for(1) == queries_for(12)
    assert queries_for(3) <= 8


def test_my_events_lists_registrations_with_ranks_without_n_plus_one(
    client, login, make_user, make_event, register, count_queries
) -> None:
    user = make_user()
    login(user)

    def add(n: int) -> None:
        for _ in range(n):
            full = make_event(capacity=1, has_waiting_list=True)
            register(make_user(), full, now=utcnow())
            register(user, full, now=utcnow())
            register(user, make_event(capacity=5), now=utcnow())

    add(1)
    with count_queries() as few:
        page = client.get("/account/").get_data(as_text=True)
    assert "My events" in page
    assert "number 1 on the waiting list" in page
    add(5)
    with count_queries() as many:
        page = client.get("/account/").get_data(as_text=True)
    assert page.count("number 1 on the waiting list") == 6
    assert many.count == few.count


# --- editing answers ---------------------------------------------------------------------------


def test_edit_answers_until_the_deadline(
    client, login, make_user, make_event, make_question, register
) -> None:
    event = make_event(registration_closes_at=utcnow() + timedelta(days=2))
    question = make_question(event, label="Affiliation", is_required=True)
    user = make_user()
    registration = register(user, event, {question.id: "CERN"}, now=utcnow())
    login(user)
    form = client.get(f"/registrations/{registration.public_id}/edit")
    assert form.status_code == 200
    assert 'value="CERN"' in form.get_data(as_text=True)

    bad = client.post(
        f"/registrations/{registration.public_id}/edit", data={question.field_name: ""}
    )
    assert bad.status_code == 422
    assert "Please answer this question." in bad.get_data(as_text=True)

    ok = client.post(
        f"/registrations/{registration.public_id}/edit", data={question.field_name: "EPFL"}
    )
    assert ok.status_code == 302
    db.session.refresh(registration)
    assert registration.answers[str(question.id)]["value"] == "EPFL"

    event.edit_deadline_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    late = client.post(
        f"/registrations/{registration.public_id}/edit", data={question.field_name: "X"}
    )
    assert late.status_code == 302
    page = client.get(late.headers["Location"]).get_data(as_text=True)
    assert "Answers can no longer be changed" in page
    db.session.refresh(registration)
    assert registration.answers[str(question.id)]["value"] == "EPFL"


# --- cancelling --------------------------------------------------------------------------------


def test_cancel_asks_first_then_promotes_and_emails_the_next_person(
    smtp_sink, client, login, make_user, make_event, register
) -> None:
    event = make_event(capacity=1, has_waiting_list=True, title="Tiny workshop")
    owner = make_user()
    registration = register(owner, event, now=utcnow())
    waiting = register(make_user(email="next@example.org"), event, now=utcnow())
    deliver_due()
    login(owner)

    confirm = client.get(f"/registrations/{registration.public_id}/cancel")
    assert confirm.status_code == 200
    assert "Cancel your registration?" in confirm.get_data(as_text=True)
    assert count_registrations(event, "confirmed") == 1  # GET changes nothing

    response = client.post(f"/registrations/{registration.public_id}/cancel")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).status == RegistrationStatus.CANCELLED
    assert db.session.get(Registration, waiting.id).status == RegistrationStatus.CONFIRMED

    deliver_due()
    _controller, handler = smtp_sink
    messages = [
        email.message_from_bytes(e.content, policy=email.policy.default) for e in handler.messages
    ]
    promoted = [m for m in messages if m["To"] == "next@example.org"]
    assert [m["Subject"] for m in promoted] == [
        "You are on the waiting list: Tiny workshop",
        "A place is yours: Tiny workshop",
    ]
    body = promoted[-1].get_body(("plain",)).get_content()
    assert f"http://localhost/registrations/{waiting.public_id}" in body

    page = client.get(f"/registrations/{registration.public_id}").get_data(as_text=True)
    assert "Your registration is cancelled." in page
    again = client.post(f"/registrations/{registration.public_id}/cancel")
    assert again.status_code == 302


def test_cancel_requires_the_csrf_token(app_config, make_user, make_event, register) -> None:
    event = make_event()
    owner = make_user()
    registration = register(owner, event, now=utcnow())
    csrf_app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = csrf_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = owner.get_id()
        session["_fresh"] = True
    with csrf_app.app_context():
        response = client.post(f"/registrations/{registration.public_id}/cancel")
        assert response.status_code == 400
        page = client.get(f"/registrations/{registration.public_id}/cancel").get_data(as_text=True)
        assert 'name="csrf_token"' in page
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).status == RegistrationStatus.CONFIRMED


def test_services_answer_rows_shows_checkbox_as_yes(make_event, make_user, make_question, register):
    event = make_event()
    question = make_question(event, kind=QuestionKind.CHECKBOX, label="Photos OK")
    registration = register(make_user(), event, {question.id: True}, now=utcnow())
    assert registration_answers.answer_rows(registration) == [("Photos OK", "Yes")]


def test_cli_approves_and_rejects_pending_registrations(
    runner, make_user, make_event, register
) -> None:
    event = make_event(capacity=5, requires_approval=True)
    first = register(make_user(), event, now=utcnow())
    second = register(make_user(), event, now=utcnow())
    result = runner.invoke(args=["registrations", "approve", str(first.id)])
    assert result.exit_code == 0, result.output
    assert "confirmed" in result.output
    result = runner.invoke(args=["registrations", "reject", str(second.id)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["registrations", "approve", str(first.id)])
    assert again.exit_code != 0
    assert "awaiting approval" in again.output
    listing = runner.invoke(args=["registrations", "list", event.slug])
    assert "confirmed" in listing.output and "rejected" in listing.output
    db.session.expire_all()
    assert db.session.get(Registration, first.id).status == RegistrationStatus.CONFIRMED
    assert db.session.get(Registration, second.id).status == RegistrationStatus.REJECTED
