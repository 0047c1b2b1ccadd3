"""Registering in one step without an account (or with an unconfirmed one): the place is
held until the emailed link confirms the address, and released when nobody follows it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.feeds import queries as feeds_queries
from eventsite.models import Registration, RegistrationStatus, User
from eventsite.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("smtp_sink")

CHECK_EMAIL = "We are holding your place until"


def newcomer(email: str = "ada@example.org", **extra: str) -> dict[str, str]:
    return {"name": "Ada Lovelace", "email": email, "affiliation": "CERN", "country": "GB", **extra}


def submit(client, event, data: dict[str, str]):
    return client.post(f"/events/{event.slug}/register", data=data)


def page_text(response) -> str:
    return response.get_data(as_text=True)


def registrations(event) -> list[Registration]:
    event_id = db.inspect(event).identity[0]  # also once the worker has ended the session
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Registration).where(Registration.event_id == event_id).order_by(Registration.id)
        )
    )


def expire(registration: Registration) -> None:
    """Time passes: the hold ran out a minute ago (nothing has released it yet)."""
    registration.hold_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()


def logged_in_as(client) -> str | None:
    page = page_text(client.get("/account/settings"))
    found = re.search(r'name="profile-name"[^>]*value="([^"]*)"', page)
    return found.group(1) if found else None


# --- one submit ----------------------------------------------------------------------------------


def test_a_visitor_registers_in_one_submit_and_one_link_confirms_everything(
    client, make_event, make_question, mailbox
) -> None:
    event = make_event(title="Open Science Forum", capacity=10, confirmation_hold_hours=48)
    question = make_question(event, label="Dietary needs", is_required=True)

    response = submit(client, event, newcomer(**{question.field_name: "Vegan"}))

    assert response.status_code == 200
    assert "Check your email" in page_text(response)
    assert CHECK_EMAIL in page_text(response)
    assert "ada@example.org" in page_text(response)
    user = db.session.scalar(select(User))
    assert user.email == "ada@example.org" and user.name == "Ada Lovelace"
    assert (user.affiliation, user.country) == ("CERN", "GB")
    assert not user.is_verified and not user.has_password
    (registration,) = registrations(event)
    assert registration.status == RegistrationStatus.CONFIRMED  # by today's rules
    assert registration.is_held
    assert registration.hold_expires_at == registration.created_at + timedelta(hours=48)
    assert registration.answers[str(question.id)]["value"] == "Vegan"
    (message,) = mailbox()  # one email, no confirmation or calendar yet
    assert message.rcpt_tos == ["ada@example.org"]
    assert "Confirm your email address to keep your place" in message.subject
    assert not list(message.message.iter_attachments())
    link = message.link("/registrations/confirm/")
    assert logged_in_as(client) is None

    landed = client.get(link)

    assert landed.status_code == 302
    detail = client.get(landed.headers["Location"])
    text = page_text(detail)
    assert "Thank you: your email address is confirmed." in text
    assert "You are registered." in text
    assert "Choose a password?" in text  # offered, not required
    assert logged_in_as(client) == "Ada Lovelace"
    db.session.expire_all()
    assert db.session.get(User, user.id).is_verified
    (registration,) = registrations(event)
    assert not registration.is_held and registration.status == RegistrationStatus.CONFIRMED
    (confirmation,) = mailbox()
    assert confirmation.subject.startswith("You are registered")
    assert [p.get_content_type() for p in confirmation.message.iter_attachments()] == [
        "application/ics"
    ]  # the calendar invitation comes with the confirmation
    # "My events" lists it.
    assert "Open Science Forum" in page_text(client.get("/account/"))


def test_the_password_can_be_chosen_after_confirming(client, make_event, mailbox) -> None:
    event = make_event()
    submit(client, event, newcomer())
    client.get(mailbox()[0].link("/registrations/confirm/"))
    form = client.get("/account/password/first?next=/account/")
    assert form.status_code == 200
    saved = client.post(
        "/account/password/first?next=/account/",
        data={"new_password": "lovelace engine 1843", "confirm": "lovelace engine 1843"},
    )
    assert saved.headers["Location"] == "/account/"
    assert logged_in_as(client) == "Ada Lovelace"  # still logged in
    client.post("/logout")
    again = client.post(
        "/login", data={"email": "ada@example.org", "password": "lovelace engine 1843"}
    )
    assert again.status_code == 302
    # Once set, the page does not replace it without the current password.
    assert client.get("/account/password/first").headers["Location"] == "/account/"


def test_an_account_without_password_cannot_be_logged_in_to_with_any_password(
    client, make_event
) -> None:
    submit(client, make_event(), newcomer())
    response = client.post("/login", data={"email": "ada@example.org", "password": "!"})
    assert response.status_code == 422


def test_the_link_works_once_and_a_used_link_logs_nobody_in(
    client, app, make_event, mailbox
) -> None:
    event = make_event()
    submit(client, event, newcomer())
    link = mailbox()[0].link("/registrations/confirm/")
    assert client.get(link).status_code == 302
    other = app.test_client()
    used = other.get(link)
    assert used.headers["Location"].startswith("/login?next=/registrations/")
    assert logged_in_as(other) is None
    assert mailbox() != []  # the one confirmation, not a second
    assert len(registrations(event)) == 1


@pytest.mark.parametrize("tamper", ["x", "-"])
def test_a_broken_link_is_refused(client, make_event, mailbox, tamper) -> None:
    submit(client, make_event(), newcomer())
    link = mailbox()[0].link("/registrations/confirm/")
    response = client.get(link[:-3] + tamper * 3)
    assert response.status_code == 400
    assert "This link is not valid" in page_text(response)


# --- an address that has an account ------------------------------------------------------------


def test_an_address_with_an_account_gets_a_continue_email_and_the_same_page(
    client, make_event, make_user, mailbox
) -> None:
    event = make_event(capacity=10)
    owner = make_user(email="owner@example.org", name="Grace Hopper")

    for_newcomer = page_text(submit(client, event, newcomer("new@example.org")))
    for_owner = page_text(submit(client, event, newcomer("owner@example.org")))

    assert for_owner.replace("owner@example.org", "X") == for_newcomer.replace(
        "new@example.org", "X"
    )
    assert db.session.scalar(select(func.count()).select_from(User)) == 2  # none for the owner
    db.session.refresh(owner)
    assert owner.name == "Grace Hopper"  # the visitor's words do not change the account
    messages = {m.rcpt_tos[0]: m for m in mailbox()}
    continue_email = messages["owner@example.org"]
    assert continue_email.subject.startswith("Continue your registration")
    assert "which has an account with us" in continue_email.text
    held = next(r for r in registrations(event) if r.user_id == owner.id)
    assert held.is_held

    landed = client.get(continue_email.link("/registrations/confirm/"))
    assert landed.status_code == 302
    assert logged_in_as(client) == "Grace Hopper"
    assert not registrations(event)[1].is_held


def test_an_account_already_registered_is_told_so_by_email_only(
    client, make_event, make_user, register, mailbox
) -> None:
    event = make_event(capacity=10)
    owner = make_user(email="owner@example.org")
    register(owner, event, now=utcnow())
    mailbox()  # the first registration's confirmation

    for_owner = page_text(submit(client, event, newcomer("owner@example.org")))
    for_newcomer = page_text(submit(client, event, newcomer("new@example.org")))

    assert for_owner.replace("owner@example.org", "X") == for_newcomer.replace(
        "new@example.org", "X"
    )
    assert len([r for r in registrations(event) if r.user_id == owner.id]) == 1
    already = next(m for m in mailbox() if m.rcpt_tos == ["owner@example.org"])
    assert already.subject.startswith("You are already registered")
    assert "you are registered already (Confirmed)" in already.text


def test_an_unconfirmed_account_is_reused(client, make_event, make_user, mailbox) -> None:
    event = make_event()
    user = make_user(email="ada@example.org", email_verified_at=None)
    submit(client, event, newcomer())
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    (registration,) = registrations(event)
    assert registration.user_id == user.id and registration.is_held
    (message,) = mailbox()
    assert message.subject.startswith("Confirm your email address")
    # Asking again sends the link of the same held place again.
    submit(client, event, newcomer())
    assert len(registrations(event)) == 1
    (again,) = mailbox()
    assert again.link("/registrations/confirm/")


# --- holds run out -------------------------------------------------------------------------------


def test_an_expired_hold_is_released_and_the_waiting_list_moves_up_in_order(
    client, make_event, make_user, register, mailbox, runner
) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    submit(client, event, newcomer())
    first, second = make_user(), make_user()
    register(first, event, now=utcnow())
    register(second, event, now=utcnow())
    link = mailbox()[0].link("/registrations/confirm/")
    mailbox()
    held = registrations(event)[0]
    expire(held)

    result = runner.invoke(args=["registrations", "expire-holds"])

    assert result.exit_code == 0, result.output
    assert "Released 1 expired hold." in result.output
    held, one, two = registrations(event)
    assert held.status == RegistrationStatus.CANCELLED and held.is_hold_expired
    assert one.status == RegistrationStatus.CONFIRMED and one.user_id == first.id
    assert two.status == RegistrationStatus.WAITLISTED
    (promotion,) = mailbox()
    assert promotion.rcpt_tos == [first.email]
    assert promotion.subject.startswith("A place is yours")
    # The link of the released place says so.
    response = client.get(link)
    assert response.status_code == 400
    assert "it has been released" in page_text(response)
    assert runner.invoke(args=["registrations", "expire-holds"]).output.startswith("Released 0")


def test_the_next_registration_releases_an_expired_hold_first(
    client, make_event, login, make_user
) -> None:
    event = make_event(capacity=1)
    submit(client, event, newcomer())
    expire(registrations(event)[0])
    login(make_user())
    response = submit(client, event, {})
    assert response.status_code == 302
    held, mine = registrations(event)
    assert held.is_hold_expired and mine.status == RegistrationStatus.CONFIRMED


def test_visitors_see_the_place_of_an_expired_hold_as_free(client, app, make_event) -> None:
    event = make_event(capacity=1)
    submit(app.test_client(), event, newcomer())
    assert "This event is full" in page_text(client.get(f"/events/{event.slug}"))
    expire(registrations(event)[0])
    # Nothing released it yet: the page (and its cached copy) counts it free anyway.
    assert "Only 1 place left" in page_text(client.get(f"/events/{event.slug}"))


def test_a_waitlisted_hold_expires_and_a_promoted_hold_keeps_its_hold(
    client, app, make_event, make_user, register, mailbox
) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    holder = make_user()
    holding = register(holder, event, now=utcnow())
    submit(client, event, newcomer())  # waiting list, held
    mailbox()
    _first, waiting = registrations(event)
    assert waiting.status == RegistrationStatus.WAITLISTED and waiting.is_held

    from eventsite.registration import services

    services.cancel_registration(holding, utcnow())
    db.session.commit()

    _first, waiting = registrations(event)
    assert waiting.status == RegistrationStatus.CONFIRMED and waiting.is_held
    assert [m.rcpt_tos for m in mailbox()] == [[holder.email]]  # no promotion email yet
    expire(waiting)
    app.test_client().get(f"/events/{event.slug}")  # a read releases nothing
    assert registrations(event)[1].status == RegistrationStatus.CONFIRMED
    services.expire_holds_of_event(event, utcnow())
    db.session.commit()
    assert registrations(event)[1].is_hold_expired


def test_the_outbox_worker_releases_expired_holds(client, make_event, runner, mailbox) -> None:
    event = make_event(capacity=1)
    submit(client, event, newcomer())
    mailbox()
    expire(registrations(event)[0])
    result = runner.invoke(args=["outbox", "work", "--once"])
    assert result.exit_code == 0, result.output
    assert "Released 1 expired hold." in result.output
    assert registrations(event)[0].is_hold_expired


# --- what others see -----------------------------------------------------------------------------


def test_organisers_see_held_and_expired_places_in_the_table_and_exports(
    client, login, make_event, make_member, make_organisation, runner
) -> None:
    organisation = make_organisation()
    event = make_event(organisation=organisation, capacity=5)
    submit(client, event, newcomer())
    submit(client, event, newcomer("bob@example.org"))
    expire(registrations(event)[1])
    login(make_member(organisation))

    table = page_text(client.get(f"/manage/events/{event.id}/registrants"))
    assert "awaiting email confirmation (until" in table
    assert "expired, never confirmed" in table  # ran out, not released yet: said so
    export = page_text(client.get(f"/manage/events/{event.id}/registrants.csv"))
    assert "Confirmed (awaiting email confirmation (until" in export
    assert "Confirmed (expired, never confirmed)" in export
    assert "CERN" in export and "GB" in export  # the person block's, on the profile
    assert runner.invoke(args=["registrations", "expire-holds"]).exit_code == 0
    export = page_text(client.get(f"/manage/events/{event.id}/registrants.csv"))
    assert "Cancelled (expired, never confirmed)" in export


def test_a_held_place_is_not_in_the_personal_calendar(
    client, make_event, make_user, register
) -> None:
    event = make_event()
    owner = make_user(email="ada@example.org")
    submit(client, event, newcomer())  # held for the account, which has a calendar
    assert db.session.execute(feeds_queries.personal_events(owner)).all() == []


# --- logged in -----------------------------------------------------------------------------------


def test_the_form_is_prefilled_from_the_profile_and_can_update_it(
    client, login, make_event, make_user
) -> None:
    event = make_event()
    user = make_user(name="Ada", affiliation="CERN", country="CH")
    login(user)
    form = page_text(client.get(f"/events/{event.slug}/register"))
    assert 'value="Ada"' in form and 'value="CERN"' in form
    assert '<option selected value="CH">' in form
    response = submit(
        client,
        event,
        {"name": "Ada L.", "affiliation": "EPFL", "country": "FR", "update_profile": "y"},
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.name, user.affiliation, user.country) == ("Ada L.", "EPFL", "FR")


def test_changes_without_the_box_are_refused_not_dropped(
    client, login, make_event, make_user
) -> None:
    event = make_event()
    user = make_user(name="Ada", affiliation="CERN", country="CH")
    login(user)
    response = submit(
        client, event, {"name": "Someone else", "affiliation": "EPFL", "country": "FR"}
    )
    assert response.status_code == 422
    text = page_text(response)
    assert "tick “Also update my profile” to keep them" in text
    assert 'value="Someone else"' in text  # what they typed is kept on the page
    db.session.refresh(user)
    assert (user.name, user.affiliation, user.country) == ("Ada", "CERN", "CH")
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
    # Unchanged details need no box.
    response = submit(client, event, {"name": "Ada", "affiliation": "CERN", "country": "CH"})
    assert response.status_code == 302


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (newcomer(email="not an address"), "email"),
        (newcomer(name=""), "This field is required."),
        (newcomer(name="Ada\x00"), ""),
        (newcomer(country="XX"), "Please choose a country from the list."),
        (newcomer(affiliation="x" * 301), ""),
    ],
)
def test_bad_person_fields_are_refused_with_a_message(
    client, make_event, mailbox, data, message
) -> None:
    event = make_event()
    response = submit(client, event, data)
    assert response.status_code == 422
    assert message in page_text(response)
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert registrations(event) == []
    assert mailbox() == []


@pytest.mark.usefixtures("rate_limits_on")
def test_visitors_registering_are_rate_limited_per_address_members_are_not(
    client, app, make_event, make_user, login, mailbox
) -> None:
    event = make_event(capacity=50)
    for n in range(2):
        assert submit(client, event, newcomer(f"v{n}@example.org")).status_code == 200
    response = submit(client, event, newcomer("v9@example.org"))
    assert response.status_code == 429
    assert "too many times" in page_text(response)
    assert len(registrations(event)) == 2
    member = app.test_client()
    with member.session_transaction() as session:
        session["_user_id"] = make_user().get_id()
    assert member.post(f"/events/{event.slug}/register", data={}).status_code == 302


@pytest.mark.usefixtures("csrf_enabled")
def test_a_visitors_post_without_the_csrf_token_is_refused(client, make_event, mailbox) -> None:
    event = make_event()
    response = submit(client, event, newcomer())
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert mailbox() == []


def test_a_full_event_creates_no_account(client, make_event, make_user, register) -> None:
    event = make_event(capacity=1)
    register(make_user(), event, now=utcnow())
    response = submit(client, event, newcomer())
    assert response.status_code == 422
    assert "This event is full" in page_text(response)
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


# --- cost ----------------------------------------------------------------------------------------

# The statements of a logged-in person's register POST before one-step registration existed
# (measured on the commit before it): holds add none to it, and a visitor's costs little more.
# Plus one: the organisation's webhook endpoints looked up (webhooks.services.queue).
REGISTER_POST_STATEMENTS = 13


def test_registering_costs_no_more_statements_than_before(
    client, login, make_event, make_user, make_question, count_queries
) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    question = make_question(event, label="Diet")
    login(make_user())
    with count_queries() as counter:
        response = submit(client, event, {question.field_name: "Vegan"})
    assert response.status_code == 302
    assert counter.count <= REGISTER_POST_STATEMENTS, counter.statements


def test_a_visitors_register_post_costs_a_few_statements_more(
    client, make_event, make_question, count_queries
) -> None:
    """The address looked up, the account inserted; nothing per question or registrant."""
    event = make_event(capacity=1, has_waiting_list=True)
    question = make_question(event, label="Diet")
    with count_queries() as counter:
        response = submit(client, event, newcomer(**{question.field_name: "Vegan"}))
    assert response.status_code == 200
    assert counter.count <= REGISTER_POST_STATEMENTS + 2, counter.statements
