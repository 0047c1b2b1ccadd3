"""Creating and changing events and their agenda through the organiser API: the
workspace's rules and emails, bad input refused naming the field with nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import (
    AgendaSession,
    AuditEntry,
    Event,
    EventStatus,
    OutboxMessage,
    RegistrationStatus,
    Speaker,
)
from eventsite.organisations.access_tokens import TokenScope

from .conftest import auth

pytestmark = pytest.mark.usefixtures("smtp_sink")

EVENTS = "/api/v1/organiser/events"
NEW_EVENT = {
    "title": "  Reef Week  ",
    "starts_at": "2027-05-12T09:00:00+02:00",
    "ends_at": "2027-05-12T17:30:00+02:00",
    "timezone": "Europe/Paris",
    "city": "Marseille",
    "country": "FR",
    "capacity": 40.0,  # a whole number, as JSON Schema counts one
    "summary": "Corals.",
}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _fresh(event: Event) -> Event:
    db.session.expire_all()
    return db.session.get(Event, event.id)


def _field_errors(response) -> dict:
    return response.get_json()["errors"]["json"]


# --- creating an event ------------------------------------------------------------------


def test_create_makes_a_draft_of_the_tokens_organisation_and_logs_it(
    client, organisation, member, make_topic, make_token
) -> None:
    make_topic("Oceans")
    response = client.post(
        EVENTS,
        headers=auth(make_token(name="CRM sync")),
        json=NEW_EVENT | {"topics": ["oceans"]},
    )

    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "draft"
    assert body["title"] == "Reef Week"
    assert body["slug"] == "reef-week"
    assert body["starts_at"] == "2027-05-12T09:00:00+02:00"
    assert body["registration"]["capacity"] == 40
    assert body["timezone"] == "Europe/Paris"
    assert [t["slug"] for t in body["topics"]] == ["oceans"]
    event = db.session.get(Event, body["id"])
    assert event.organisation_id == organisation.id
    assert event.starts_at == datetime(2027, 5, 12, 7, 0, tzinfo=UTC)
    assert event.capacity == 40
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.action, entry.actor_id, entry.event_id) == ("create", member.id, event.id)
    assert entry.details["token"] == "CRM sync"
    # The API reads it back as it was written.
    assert client.get(body["api_url"], headers=auth(make_token())).get_json() == body


def test_create_an_all_day_event_from_its_days(client, make_token) -> None:
    response = client.post(
        EVENTS,
        headers=auth(make_token()),
        json=NEW_EVENT
        | {
            "is_all_day": True,
            "starts_at": "2027-05-12T00:00:00+02:00",
            "ends_at": "2027-05-13T00:00:00+02:00",
        },
    )

    body = response.get_json()
    assert response.status_code == 201
    event = db.session.get(Event, body["id"])
    # One day, 12 May in Paris: midnight to midnight (an end at midnight ends the day before).
    assert event.starts_at == datetime(2027, 5, 11, 22, 0, tzinfo=UTC)
    assert event.ends_at == datetime(2027, 5, 12, 22, 0, tzinfo=UTC)


def test_an_all_day_event_keeps_its_days_when_only_its_zone_changes(client, make_token) -> None:
    headers = auth(make_token())
    created = client.post(
        EVENTS,
        headers=headers,
        json=NEW_EVENT
        | {
            "is_all_day": True,
            "starts_at": "2027-05-12T00:00:00+02:00",
            "ends_at": "2027-05-14T00:00:00+02:00",
        },
    ).get_json()
    url = f"{EVENTS}/{created['id']}"

    same = client.patch(
        url,
        headers=headers,
        json={"starts_at": created["starts_at"], "ends_at": created["ends_at"]},
    )
    moved = client.patch(url, headers=headers, json={"timezone": "Asia/Tokyo"})

    assert same.get_json() == created  # what the API returns, sent back, changes nothing
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["create", "edit"]  # the zone's; `same` changed nothing
    assert set(entries[1].details["changes"]) == {"timezone", "starts_at", "ends_at"}
    assert moved.status_code == 200
    assert (moved.get_json()["starts_at"], moved.get_json()["ends_at"]) == (
        "2027-05-12T00:00:00+09:00",
        "2027-05-14T00:00:00+09:00",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "x" * 201}, "title"),
        ({"title": "Two\nlines"}, "title"),
        ({"starts_at": "2027-05-12T09:00:00"}, "starts_at"),  # no offset
        ({"starts_at": "12 May 2027"}, "starts_at"),
        ({"starts_at": "9999-05-12T09:00:00+02:00"}, "starts_at"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"country": "XX"}, "country"),
        ({"capacity": -1}, "capacity"),
        ({"capacity": "40"}, "capacity"),
        ({"capacity": True}, "capacity"),
        ({"capacity": float("inf")}, "capacity"),
        ({"capacity": 40.5}, "capacity"),
        ({"is_all_day": "yes"}, "is_all_day"),
        ({"latitude": 91}, "latitude"),
        ({"online_url": "javascript:alert(1)"}, "online_url"),
        ({"kind": "party"}, "kind"),
        ({"summary": "bell\x07"}, "summary"),
        ({"organisation_id": 1}, "organisation_id"),  # unknown field
        ({"title": None}, "title"),
    ],
)
def test_bad_input_on_create_is_a_400_naming_the_field_and_creates_nothing(
    client, make_token, changes, field
) -> None:
    response = client.post(EVENTS, headers=auth(make_token()), json=NEW_EVENT | changes)

    assert response.status_code == 400
    assert field in _field_errors(response)
    assert _count(Event) == 0
    assert _count(AuditEntry) == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"format": "online"}, "online_url", "Online and hybrid events need the online address."),
        (
            {"registration_closes_at": "2027-05-13T00:00:00+02:00"},
            "registration_closes_at",
            "Registration must close before the event ends.",
        ),
        ({"slug": "!!!"}, "slug", "Use letters or digits in the address."),
        ({"title": "   "}, "title", "Give the event a title."),
        ({"ends_at": "2027-05-12T08:00:00+02:00"}, "ends_at", "The end must come after the start."),
        ({"topics": ["no-such-topic"]}, "topics", "No such topic: no-such-topic."),
        (
            {"is_all_day": True, "ends_at": "2027-05-10T12:00:00+02:00"},
            "ends_at",
            "The last day cannot come before the first.",
        ),
    ],
)
def test_a_rule_refusing_a_value_is_a_422_naming_the_field(
    client, make_token, changes, field, message
) -> None:
    response = client.post(EVENTS, headers=auth(make_token()), json=NEW_EVENT | changes)

    assert response.status_code == 422
    assert response.get_json()["message"] == message
    assert _field_errors(response) == {field: [message]}
    assert _count(Event) == 0


def test_a_taken_address_is_a_422(client, make_event, make_token) -> None:
    make_event(slug="reef-week")

    response = client.post(
        EVENTS, headers=auth(make_token()), json=NEW_EVENT | {"slug": "reef-week"}
    )

    assert response.status_code == 422
    assert "slug" in _field_errors(response)
    assert _count(Event) == 1


def test_a_read_token_may_not_create(client, make_token) -> None:
    response = client.post(EVENTS, headers=auth(make_token(TokenScope.READ)), json=NEW_EVENT)

    assert response.status_code == 403
    assert _count(Event) == 0


# --- updating an event ------------------------------------------------------------------


def test_update_changes_only_the_fields_sent_and_logs_the_changes(
    client, make_event, organisation, member, make_token, mailbox
) -> None:
    event = make_event(organisation=organisation, status=EventStatus.DRAFT, capacity=50)
    starts = event.starts_at

    response = client.patch(
        f"{EVENTS}/{event.id}",
        headers=auth(make_token(name="CRM sync")),
        json={"title": "Renamed", "capacity": None},
    )

    assert response.status_code == 200
    assert response.get_json()["title"] == "Renamed"
    event = _fresh(event)
    assert (event.title, event.capacity, event.starts_at) == ("Renamed", None, starts)
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.action, entry.actor_id, entry.details["token"]) == ("edit", member.id, "CRM sync")
    assert set(entry.details["changes"]) == {"title", "capacity"}
    assert mailbox() == []  # a draft has nobody to tell


def test_moving_a_published_event_emails_its_registrants_as_the_workspace_does(
    client, make_event, organisation, make_user, make_registration, make_session, make_token,
    mailbox,
) -> None:  # fmt: skip
    event = make_event(organisation=organisation)
    session = make_session(event)
    for name in ("Cleo", "Wim"):
        make_registration(make_user(name=name), event)
    make_registration(make_user(name="Xan"), event, RegistrationStatus.CANCELLED)
    new_start = event.starts_at + timedelta(days=1)
    session_starts = session.starts_at

    response = client.patch(
        f"{EVENTS}/{event.id}",
        headers=auth(make_token()),
        json={
            "starts_at": new_start.isoformat(),
            "ends_at": (event.ends_at + timedelta(days=1)).isoformat(),
            "move_agenda": True,
        },
    )

    assert response.status_code == 200
    event = _fresh(event)
    assert event.starts_at == new_start
    assert event.sessions[0].starts_at == session_starts + timedelta(days=1)
    messages = mailbox()
    assert {m.subject for m in messages} == {f"Changed: {event.title}"}
    assert len(messages) == 2
    assert db.session.scalar(select(AuditEntry)).details["revision"] == event.revision


def test_a_quiet_change_of_place_is_refused_with_nothing_changed(
    client, make_event, organisation, make_user, make_registration, make_token, mailbox
) -> None:
    event = make_event(organisation=organisation)
    make_registration(make_user(), event)
    venue = event.venue_name

    response = client.patch(
        f"{EVENTS}/{event.id}",
        headers=auth(make_token()),
        json={"venue_name": "Palais des Nations", "notify": False},
    )

    assert response.status_code == 422
    assert "notify" in _field_errors(response)
    assert _fresh(event).venue_name == venue
    assert _count(OutboxMessage) == 0
    assert mailbox() == []


def test_a_quiet_change_of_summary_emails_nobody(
    client, make_event, organisation, make_user, make_registration, make_token, mailbox
) -> None:
    event = make_event(organisation=organisation)
    make_registration(make_user(), event)

    response = client.patch(
        f"{EVENTS}/{event.id}",
        headers=auth(make_token()),
        json={"summary": "Now with more coral.", "notify": False},
    )

    assert response.status_code == 200
    assert _fresh(event).summary == "Now with more coral."
    assert mailbox() == []


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"ends_at": "2000-01-01T00:00:00+00:00"}, 422, "ends_at"),  # before the kept start
        ({"slug": "new-address"}, 422, "slug"),  # published: the address stays
        ({"capacity": 1.5}, 400, "capacity"),
        ({"status": "draft"}, 400, "status"),
        ({"topics": "oceans"}, 400, "topics"),
        ({"description": None}, 400, "description"),
    ],
)
def test_bad_updates_name_the_field_and_change_nothing(
    client, make_event, organisation, make_token, changes, status, field
) -> None:
    event = make_event(organisation=organisation)
    before = (event.slug, event.ends_at, event.capacity, event.description, event.revision)

    response = client.patch(f"{EVENTS}/{event.id}", headers=auth(make_token()), json=changes)

    assert response.status_code == status
    assert field in _field_errors(response)
    event = _fresh(event)
    assert (event.slug, event.ends_at, event.capacity, event.description, event.revision) == before
    assert _count(AuditEntry) == 0


def test_another_organisations_token_and_a_read_token_may_not_update(
    client, make_event, make_organisation, organisation, make_token
) -> None:
    event = make_event(organisation=organisation)
    other = make_token(org=make_organisation(name="Other", slug="other"))

    foreign = client.patch(f"{EVENTS}/{event.id}", headers=auth(other), json={"title": "Mine"})
    read = client.patch(
        f"{EVENTS}/{event.id}", headers=auth(make_token(TokenScope.READ)), json={"title": "Mine"}
    )

    assert (foreign.status_code, read.status_code) == (403, 403)
    assert _fresh(event).title != "Mine"


# --- the agenda --------------------------------------------------------------------------


def _at(event: Event, hours: float) -> str:
    return (event.starts_at + timedelta(hours=hours)).isoformat()


def test_sessions_are_added_changed_and_removed_through_the_agenda_rules(
    client, make_event, organisation, make_token
) -> None:
    event = make_event(organisation=organisation)
    headers = auth(make_token())
    url = f"{EVENTS}/{event.id}/sessions"

    added = client.post(
        url,
        headers=headers,
        json={
            "title": "Keynote",
            "starts_at": _at(event, 1),
            "ends_at": _at(event, 2),
            "room": "Hall A",
            "speakers": ["Ada Example", "Grace Hopper"],
        },
    )
    assert added.status_code == 201
    session_id = added.get_json()["id"]
    assert added.get_json()["speakers"] == ["Ada Example", "Grace Hopper"]

    changed = client.patch(f"{url}/{session_id}", headers=headers, json={"room": "Hall B"})
    assert changed.status_code == 200
    assert changed.get_json()["room"] == "Hall B"
    assert db.session.get(AgendaSession, session_id).title == "Keynote"

    public = client.get(f"/api/v1/events/{event.slug}").get_json()
    assert [s["title"] for s in public["agenda"]] == ["Keynote"]

    removed = client.delete(f"{url}/{session_id}", headers=headers)
    assert removed.status_code == 204
    assert _count(AgendaSession) == 0
    actions = db.session.scalars(select(AuditEntry.details).order_by(AuditEntry.id)).all()
    assert [a.get("added") or a.get("changes") or a.get("removed") for a in actions] == [
        "Keynote",
        {"room": {"old": "Hall A", "new": "Hall B"}},
        "Keynote",
    ]


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"starts_at": "2001-01-01T09:00:00+00:00"}, 422, "starts_at"),  # outside the event
        ({"ends_at": None}, 400, "ends_at"),
        ({"title": ""}, 400, "title"),
        ({"title": "  "}, 422, "title"),
        ({"ends_at": "2001-01-01T09:00:00+00:00"}, 422, "ends_at"),
        ({"speakers": ["  "]}, 422, "speakers"),
        ({"speakers": [""]}, 400, "speakers"),
        ({"colour": "red"}, 400, "colour"),
    ],
)
def test_bad_sessions_name_the_field_and_add_nothing(
    client, make_event, organisation, make_token, changes, status, field
) -> None:
    event = make_event(organisation=organisation)
    body = {"title": "Keynote", "starts_at": _at(event, 1), "ends_at": _at(event, 2)} | changes

    response = client.post(f"{EVENTS}/{event.id}/sessions", headers=auth(make_token()), json=body)

    assert response.status_code == status
    assert field in _field_errors(response)
    assert (_count(AgendaSession), _count(Speaker), _count(AuditEntry)) == (0, 0, 0)


def test_a_session_change_ending_before_its_start_changes_nothing(
    client, make_event, organisation, make_session, make_token
) -> None:
    event = make_event(organisation=organisation)
    session = make_session(event)
    ends = session.ends_at

    response = client.patch(
        f"{EVENTS}/{event.id}/sessions/{session.id}",
        headers=auth(make_token()),
        json={"ends_at": _at(event, 0.5)},  # before the kept start (1 h in)
    )

    assert response.status_code == 422
    assert _field_errors(response) == {"ends_at": ["The end must come after the start."]}
    db.session.expire_all()
    assert db.session.get(AgendaSession, session.id).ends_at == ends


def test_a_session_of_another_event_is_404(
    client, make_event, organisation, make_session, make_token
) -> None:
    event = make_event(organisation=organisation)
    elsewhere = make_session(make_event(organisation=organisation))

    url = f"{EVENTS}/{event.id}/sessions/{elsewhere.id}"
    patched = client.patch(url, headers=auth(make_token()), json={"title": "Mine"})
    deleted = client.delete(url, headers=auth(make_token()))

    assert (patched.status_code, deleted.status_code) == (404, 404)
    assert _count(AgendaSession) == 1


def test_a_read_token_may_not_touch_the_agenda(
    client, make_event, organisation, make_session, make_token
) -> None:
    event = make_event(organisation=organisation)
    session = make_session(event)

    response = client.delete(
        f"{EVENTS}/{event.id}/sessions/{session.id}", headers=auth(make_token(TokenScope.READ))
    )

    assert response.status_code == 403
    assert _count(AgendaSession) == 1


# --- rejecting and undoing a check-in ----------------------------------------------------


def test_reject_tells_the_person_and_promotes_the_waiting_list(
    client, make_event, organisation, make_user, make_registration, make_token, mailbox
) -> None:
    event = make_event(
        organisation=organisation, requires_approval=True, capacity=1, has_waiting_list=True
    )
    pending = make_registration(make_user(name="Pat"), event, RegistrationStatus.PENDING)
    waiting = make_registration(make_user(name="Wim"), event, RegistrationStatus.WAITLISTED)
    base = f"{EVENTS}/{event.id}/registrations"

    response = client.post(
        f"{base}/{pending.id}/reject", headers=auth(make_token()), json={"reason": "Full up"}
    )
    again = client.post(f"{base}/{pending.id}/reject", headers=auth(make_token()))

    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"
    assert again.status_code == 409
    db.session.expire_all()
    assert db.session.get(type(waiting), waiting.id).status != RegistrationStatus.WAITLISTED
    to_pat = [m for m in mailbox() if pending.user.email in m.rcpt_tos]
    assert len(to_pat) == 1
    assert "Full up" in to_pat[0].text
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.action, entry.details["reason"]) == ("reject", "Full up")


def test_undo_check_in_takes_back_a_check_in(
    client, make_event, organisation, make_user, make_registration, make_token
) -> None:
    event = make_event(organisation=organisation)
    registration = make_registration(make_user(), event)
    base = f"{EVENTS}/{event.id}/registrations/{registration.id}"
    headers = auth(make_token())

    never = client.post(f"{base}/undo-check-in", headers=headers)
    client.post(f"{base}/check-in", headers=headers)
    undone = client.post(f"{base}/undo-check-in", headers=headers)

    assert never.status_code == 409
    assert undone.status_code == 200
    assert undone.get_json()["checked_in_at"] is None
    db.session.expire_all()
    assert db.session.get(type(registration), registration.id).checked_in_at is None
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["check_in", "check_in_undo"]
