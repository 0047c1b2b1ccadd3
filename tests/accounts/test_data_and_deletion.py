"""Through the pages: "download my data" with registrations, and deleting an account
(nobody is left in charge of an organisation they did not choose, people registered for
coming events keep someone to look after them; freed places go to the waiting list)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from http.cookiejar import CookieJar

import pytest
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import (
    JoinedVia,
    Membership,
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
    User,
)
from eventsite.organisations import services
from eventsite.registration import services as registration_services
from eventsite.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("smtp_sink")

PASSWORD = "correct horse battery staple"  # tests/conftest.py's make_user


def member_count(organisation_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.organisation_id == organisation_id)
    )


def add_question(event, label: str, kind: QuestionKind, position: int) -> Question:
    question = Question(event_id=event.id, label=label, kind=kind, position=position)
    db.session.add(question)
    db.session.commit()
    return question


def delete_account(client, password: str = PASSWORD):
    return client.post("/account/delete", data={"delete-password": password})


@pytest.fixture
def someone_registered(make_event, make_user):
    """`someone_registered(organisation)`: a person registered for one of its coming events."""

    def register(organisation) -> None:
        starts_at = utcnow() + timedelta(days=20)
        event = make_event(
            organisation=organisation, starts_at=starts_at, ends_at=starts_at + timedelta(hours=8)
        )
        registration_services.register_attendee(make_user(), event, {}, utcnow())
        db.session.commit()

    return register


# --- download my data ----------------------------------------------------------------------------


def test_download_my_data_includes_each_registration_with_its_answers_and_moments(
    client, login, make_user, make_event
) -> None:
    now = utcnow()
    user = make_user(email="ada@example.org")
    workshop = make_event(title="Tiny Workshop", capacity=1, has_waiting_list=True)
    affiliation = add_question(workshop, "Affiliation", QuestionKind.SHORT_TEXT, 0)
    country = add_question(workshop, "Country", QuestionKind.COUNTRY, 1)
    conduct = add_question(workshop, "I accept the code of conduct", QuestionKind.CHECKBOX, 2)
    first = registration_services.register_attendee(make_user(), workshop, {}, now)
    mine = registration_services.register_attendee(
        user, workshop, {affiliation.id: "CERN", country.id: "KE", conduct.id: True}, now
    )
    db.session.commit()
    assert mine.status == RegistrationStatus.WAITLISTED
    promoted_at = now + timedelta(minutes=5)
    registration_services.cancel_registration(first, promoted_at)  # gives me the place
    checked_in_at = now + timedelta(minutes=10)
    registration_services.check_in(mine, checked_in_at)

    gala = make_event(title="Gala", requires_approval=True)
    pending = registration_services.register_attendee(user, gala, {}, now)
    decided_at = now + timedelta(minutes=20)
    registration_services.approve_registration(pending, decided_at)
    db.session.commit()

    login(user)
    response = client.get("/account/data.json")
    assert response.status_code == 200
    data = json.loads(response.get_data(as_text=True))
    by_event = {r["event"]: r for r in data["registrations"]}
    assert set(by_event) == {"Tiny Workshop", "Gala"}

    workshop_row = by_event["Tiny Workshop"]
    assert workshop_row["event_slug"] == workshop.slug
    assert workshop_row["status"] == "confirmed"
    assert workshop_row["answers"] == [
        {"question": "Affiliation", "answer": "CERN"},
        {"question": "Country", "answer": "Kenya"},
        {"question": "I accept the code of conduct", "answer": "Yes"},
    ]
    assert workshop_row["created_at"] == now.isoformat()
    assert workshop_row["promoted_at"] == promoted_at.isoformat()
    assert workshop_row["checked_in_at"] == checked_in_at.isoformat()
    assert workshop_row["decided_at"] is None

    gala_row = by_event["Gala"]
    assert gala_row["status"] == "confirmed"
    assert gala_row["answers"] == []
    assert gala_row["decided_at"] == decided_at.isoformat()
    assert gala_row["promoted_at"] is None
    assert gala_row["checked_in_at"] is None
    # Nobody else's registration, nor their address.
    assert "person1@example.org" not in response.get_data(as_text=True)


def test_download_my_data_keeps_cancelled_registrations(
    client, login, make_user, make_event
) -> None:
    user = make_user()
    event = make_event(title="Changed My Mind")
    registration = registration_services.register_attendee(user, event, {}, utcnow())
    registration_services.cancel_registration(registration, utcnow())
    db.session.commit()
    login(user)
    data = client.get("/account/data.json").get_json(force=True)
    [row] = data["registrations"]
    assert row["status"] == "cancelled"
    assert row["cancelled_at"] is not None


# --- deleting an account -------------------------------------------------------------------------


def test_the_only_member_cannot_delete_the_account_while_people_are_registered(
    client, login, make_user, make_organisation, someone_registered
) -> None:
    organisation = make_organisation(name="Geneva Science Club", slug="gsc")
    someone_registered(organisation)
    user = make_user()
    user_id = user.id
    services.grant_membership(user.email, "gsc")
    db.session.commit()
    login(user)

    response = delete_account(client)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "You are the only member of Geneva Science Club, and people are registered" in page
    assert "Invite another member first" in page
    db.session.expire_all()
    assert db.session.get(User, user_id) is not None
    assert member_count(organisation.id) == 1
    assert client.get("/account/").status_code == 200  # still logged in


def test_the_only_member_of_an_organisation_nobody_is_registered_with_can_delete_the_account(
    client, login, make_user, make_organisation, make_event
) -> None:
    organisation = make_organisation(name="Quiet Society", slug="quiet")
    make_event(organisation=organisation)  # nobody registered
    user = make_user()
    user_id = user.id
    services.grant_membership(user.email, "quiet")
    db.session.commit()
    login(user)

    response = delete_account(client)

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user_id) is None
    assert member_count(organisation.id) == 0  # in the administrators' hands


def test_a_member_added_without_being_asked_can_always_delete_the_account(
    client, login, make_user, make_organisation, someone_registered
) -> None:
    organisation = make_organisation(name="Trap Ltd", slug="trap")
    someone_registered(organisation)
    victim = make_user()
    victim_id = victim.id
    db.session.add(Membership(user=victim, organisation=organisation, joined_via=JoinedVia.ADDED))
    db.session.commit()
    login(victim)

    response = delete_account(client)

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, victim_id) is None


def test_an_organiser_cannot_delete_the_account_leaving_only_members_added_without_asking(
    client, login, make_user, make_organisation
) -> None:
    organisation = make_organisation(name="Trap Ltd", slug="trap")
    organiser, victim = make_user(), make_user()
    services.grant_membership(organiser.email, "trap")
    db.session.add(Membership(user=victim, organisation=organisation, joined_via=JoinedVia.ADDED))
    db.session.commit()
    login(organiser)

    response = delete_account(client)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The other members of Trap Ltd were added without being asked." in page
    assert member_count(organisation.id) == 2


def test_the_refusal_names_every_organisation_left_alone(
    client, login, make_user, make_organisation, someone_registered
) -> None:
    for organisation in (
        make_organisation(name="Zurich Astronomy", slug="za"),
        make_organisation(name="Basel Botany", slug="bb"),
    ):
        someone_registered(organisation)
    shared = make_organisation(name="Shared Society", slug="ss")
    someone_registered(shared)
    user = make_user()
    other = make_user()
    for slug in ("za", "bb", "ss"):
        services.grant_membership(user.email, slug)
    services.grant_membership(other.email, "ss")
    db.session.commit()
    login(user)

    response = delete_account(client)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert (
        "You are the only member of these organisations: Basel Botany, Zurich Astronomy, and "
        "people are registered"
    ) in page
    assert "Shared Society" not in page.split("only member of")[1].split("</p>")[0]
    assert member_count(shared.id) == 2


def test_a_member_with_colleagues_can_delete_the_account_and_the_organisation_keeps_them(
    client, login, make_user, make_organisation
) -> None:
    organisation = make_organisation(slug="team")
    user = make_user()
    user_id = user.id
    colleague = make_user()
    services.grant_membership(user.email, "team")
    services.grant_membership(colleague.email, "team")
    db.session.commit()
    login(user)

    response = delete_account(client)

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user_id) is None
    assert member_count(organisation.id) == 1


def test_a_wrong_password_is_said_before_the_organisation_rule(
    client, login, make_user, make_organisation, someone_registered
) -> None:
    someone_registered(make_organisation(name="Solo Org", slug="solo"))
    user = make_user()
    services.grant_membership(user.email, "solo")
    db.session.commit()
    login(user)
    response = delete_account(client, "not my password")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Your current password is not right." in page
    assert "only member" not in page


def _logged_in_opener(base_url: str, email: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    body = urllib.parse.urlencode({"email": email, "password": PASSWORD}).encode()
    opener.open(f"{base_url}/login", body, timeout=30)
    return opener


def _delete_at_once(base_url: str, openers: list[urllib.request.OpenerDirector]) -> list[int]:
    """POST /account/delete from every opener at the same moment; the status codes."""
    barrier = threading.Barrier(len(openers))
    statuses: list[int] = []
    body = urllib.parse.urlencode({"delete-password": PASSWORD}).encode()

    def delete(opener: urllib.request.OpenerDirector) -> None:
        barrier.wait()
        try:
            statuses.append(opener.open(f"{base_url}/account/delete", body, timeout=60).status)
        except urllib.error.HTTPError as err:
            statuses.append(err.code)

    threads = [threading.Thread(target=delete, args=(opener,)) for opener in openers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return sorted(statuses)


def test_two_last_members_deleting_at_once_leave_one_member(
    app, live_server, make_user, make_organisation, someone_registered
) -> None:
    """Real concurrent requests: each would see the other still there unless the
    memberships are locked while they are counted."""
    for round_ in range(3):
        organisation = make_organisation()
        organisation_id = organisation.id
        someone_registered(organisation)
        pair = [make_user(), make_user()]
        for user in pair:
            services.grant_membership(user.email, organisation.slug)
        db.session.commit()
        openers = [_logged_in_opener(live_server, user.email) for user in pair]
        db.session.remove()

        statuses = _delete_at_once(live_server, openers)

        assert statuses == [200, 422], f"round {round_}"  # 200: the home page, redirected
        assert member_count(organisation_id) == 1


def test_deleting_an_account_gives_its_place_to_the_next_person_waiting(
    client, login, make_user, make_event, mailbox
) -> None:
    event = make_event(capacity=1, has_waiting_list=True, title="Tiny Workshop")
    leaving = make_user(email="leaving@example.org")
    leaving_id = leaving.id
    held = registration_services.register_attendee(leaving, event, {}, utcnow())
    waiting_user = make_user(email="next@example.org")
    waiting = registration_services.register_attendee(waiting_user, event, {}, utcnow())
    db.session.commit()
    held_id, waiting_id, waiting_link = held.id, waiting.id, waiting.public_id
    assert waiting.status == RegistrationStatus.WAITLISTED
    mailbox()  # the two confirmations
    login(leaving)

    response = delete_account(client)

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, leaving_id) is None
    assert db.session.get(Registration, held_id) is None  # went with the account
    promoted = db.session.get(Registration, waiting_id)
    assert promoted.status == RegistrationStatus.CONFIRMED
    assert promoted.promoted_at is not None

    [message] = mailbox()  # nothing to the departed address
    assert message.rcpt_tos == ["next@example.org"]
    assert message.subject == "A place is yours: Tiny Workshop"
    assert f"/registrations/{waiting_link}" in message.text

    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert "This event is full" in page or "Waiting list open" in page
