"""Door mode: finding people by name, email, typed code or scanned QR value; checking them in
without JavaScript and as JSON; refusing bad tickets and outsiders; syncing what offline
devices checked in (the first check-in wins, the duplicate is reported)."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import (
    CheckInDuplicate,
    Membership,
    Registration,
    RegistrationStatus,
)
from eventsite.registration import services, tickets
from eventsite.timeutil import utcnow

JSON = {"Accept": "application/json"}


@pytest.fixture
def door(as_member, make_user, make_registration):
    """The world's event with two confirmed people and a cancelled one."""
    event = as_member.event
    ada = make_registration(
        make_user(name="Ada Lovelace", email="ada@example.org", affiliation="Analytical Lab"),
        event,
    )
    bo = make_registration(make_user(name="Bo Chen", affiliation="Tsinghua"), event)
    gone = make_registration(make_user(name="Cy Gone"), event, RegistrationStatus.CANCELLED)
    return as_member, event, ada, bo, gone


def _url(event, tail: str = "") -> str:
    return f"/manage/events/{event.id}/door{tail}"


def _page(client, event, **params) -> str:
    response = client.get(_url(event), query_string=params)
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def _fresh(registration: Registration) -> Registration:
    db.session.rollback()
    return db.session.get(Registration, registration.id)


def test_without_javascript_find_by_name_check_in_and_undo(client, door) -> None:
    world, event, ada, _bo, _gone = door
    page = _page(client, event)
    assert "0 of 2 checked in" in page
    assert 'role="search"' in page

    page = _page(client, event, q="lovelace")
    assert "Ada Lovelace" in page and "Analytical Lab" in page and "Bo Chen" not in page
    assert 'class="button door-check-in"' in page

    response = client.post(
        _url(event, "/check-in"), data={"registration": ada.public_id, "q": "lovelace"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{_url(event)}?q=lovelace")
    page = _page(client, event, q="lovelace")
    assert "Ada Lovelace is checked in." in page
    assert "1 of 2 checked in" in page
    assert f"by {world.member.name}." in page
    assert "Undo check-in" in page
    checked = _fresh(ada)
    assert checked.checked_in_at is not None and checked.checked_in_by_id == world.member.id

    client.post(_url(event, "/undo"), data={"registration": ada.public_id})
    assert _fresh(ada).checked_in_at is None
    assert "0 of 2 checked in" in _page(client, event)


def test_a_search_finding_many_checked_in_people_takes_the_same_queries(
    client, door, count_queries, make_user, make_registration
) -> None:
    _world, event, ada, _bo, _gone = door

    def search() -> int:
        with count_queries() as counter:
            assert client.get(_url(event), query_string={"q": "lab"}).status_code == 200
        return counter.count

    services.check_in(ada, utcnow(), by=make_user(name="Staff 0"))
    db.session.commit()
    few = search()
    for i in range(1, 6):
        person = make_registration(make_user(affiliation=f"Lab {i}"), event)
        services.check_in(person, utcnow(), by=make_user(name=f"Staff {i}"))
        db.session.add(CheckInDuplicate(registration=person, checked_in_at=utcnow()))
    db.session.commit()
    assert search() == few


@pytest.mark.parametrize("typed", ["email", "code", "dashed", "qr"])
def test_find_by_email_by_typed_code_and_by_qr_value(client, door, typed) -> None:
    _world, event, ada, _bo, _gone = door
    q = {
        "email": "ada@example",
        "code": ada.ticket_code.lower(),
        "dashed": tickets.display_code(ada),
        "qr": tickets.ticket_value(ada),
    }[typed]
    page = _page(client, event, q=q)
    assert "Ada Lovelace" in page and "Bo Chen" not in page


def test_json_check_in_then_a_second_device_hears_who_was_first(
    client, door, make_member, login
) -> None:
    world, event, ada, _bo, _gone = door
    answer = client.post(
        _url(event, "/check-in"), data={"registration": ada.public_id}, headers=JSON
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["ok"] and body["message"] == "Ada Lovelace is checked in."
    assert body["arrivals"] == "1 of 2 checked in"
    assert body["entry"]["checked_in_by"] == world.member.name
    assert "email" not in body["entry"]

    login(make_member(world.organisation, name="Second Door"))
    again = client.post(
        _url(event, "/check-in"), data={"registration": ada.public_id}, headers=JSON
    )
    assert again.status_code == 409
    assert again.get_json()["message"].startswith("Already checked in at ")
    assert again.get_json()["message"].endswith(f"by {world.member.name}.")
    # Someone else's check-in is not theirs to undo at the door... nor an old one.
    checked = _fresh(ada)
    checked.checked_in_at = utcnow() - services.DOOR_UNDO_WINDOW - timedelta(seconds=5)
    db.session.commit()
    undo = client.post(_url(event, "/undo"), data={"registration": ada.public_id}, headers=JSON)
    assert undo.status_code == 409 and "too old to undo" in undo.get_json()["message"]
    assert _fresh(ada).checked_in_at is not None


def test_the_count_endpoint(client, door) -> None:
    _world, event, ada, _bo, _gone = door
    services.check_in(ada, utcnow())
    db.session.commit()
    body = client.get(_url(event, "/count")).get_json()
    assert body["checked_in"] == 1 and body["expected"] == 2
    assert body["text"] == "1 of 2 checked in"


# --- bad input: forged, altered, other events', cancelled, outsiders --------------------------


def _nothing_changed(event) -> None:
    db.session.rollback()
    checked = db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(Registration.checked_in_at.is_not(None))
    )
    assert checked == 0


def test_scanned_values_that_are_not_tickets_of_this_event_are_refused(
    client, door, make_event, make_user, make_registration
) -> None:
    world, event, ada, _bo, gone = door
    elsewhere = make_registration(make_user(), world.other_event)
    value = tickets.ticket_value(ada)
    code, signature = value.split(".")
    cases = {
        "forged": (f"{code}.{'A' * len(signature)}", "not a ticket of this site"),
        "altered code": (f"{'ZZZZ2345'}.{signature}", "not a ticket of this site"),
        "made up": ("https://example.org/?x=<script>", "not a ticket of this site"),
        "another event": (tickets.ticket_value(elsewhere), "another event"),
        "cancelled": (tickets.ticket_value(gone), "This registration was cancelled."),
        "empty": ("", "Nothing was read."),
        "nul": ("\x00" * 5000, "Nothing was read."),
    }
    for name, (scanned, message) in cases.items():
        answer = client.post(_url(event, "/scan"), data={"value": scanned}, headers=JSON)
        assert answer.status_code == 422, name
        assert message in answer.get_json()["message"], name
    ok = client.post(_url(event, "/scan"), data={"value": value}, headers=JSON).get_json()
    assert ok["ok"] and ok["entry"]["name"] == "Ada Lovelace"
    # Typed into the search: the reason is shown, with no card to check in.
    page = _page(client, event, q=tickets.display_code(gone))
    assert "This registration was cancelled." in page and "door-check-in" not in page
    page = _page(client, event, q=tickets.ticket_value(elsewhere))
    assert "This ticket is for another event." in page
    _nothing_changed(event)


def test_check_in_refuses_cancelled_unknown_and_other_events_people(
    client, door, make_user, make_registration
) -> None:
    world, event, _ada, _bo, gone = door
    elsewhere = make_registration(make_user(), world.other_event)
    for public_id, status, message in [
        (gone.public_id, 409, "This registration was cancelled."),
        (elsewhere.public_id, 422, "Choose a person of this event first."),
        ("no-such-person", 422, "Choose a person of this event first."),
        ("", 422, "Choose a person of this event first."),
    ]:
        answer = client.post(
            _url(event, "/check-in"), data={"registration": public_id}, headers=JSON
        )
        assert (answer.status_code, answer.get_json()["message"]) == (status, message)
    # Without JavaScript: a flash, back to the door.
    response = client.post(
        _url(event, "/check-in"), data={"registration": gone.public_id}, follow_redirects=True
    )
    assert "This registration was cancelled." in response.get_data(as_text=True)
    _nothing_changed(event)


@pytest.mark.parametrize("who", ["other_member", "attendee"])
def test_door_requests_by_non_members_are_refused(client, door, login, who) -> None:
    world, event, ada, _bo, _gone = door
    login(getattr(world, who))
    assert client.get(_url(event)).status_code == 403
    assert client.get(_url(event, "/list")).status_code == 403
    for tail, data in [
        ("/check-in", {"registration": ada.public_id}),
        ("/scan", {"value": tickets.ticket_value(ada)}),
    ]:
        assert client.post(_url(event, tail), data=data, headers=JSON).status_code == 403
    sync = client.post(
        _url(event, "/sync"),
        json={"device": "Door X", "items": [{"id": ada.public_id, "at": utcnow().isoformat()}]},
    )
    assert sync.status_code == 403
    _nothing_changed(event)


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"items": "x"},
        {"device": 3, "items": []},
        {"device": "D", "items": [1]},
        {"device": "D", "items": [{"id": "x", "at": "yesterday"}]},
        {"device": "D", "items": [{"id": "x", "at": "2027-01-01T09:00:00"}]},  # no zone
        {"device": "D", "items": [{"id": ["x"], "at": "2027-01-01T09:00:00Z"}]},
        {"device": "D", "items": [{"id": "x\x00", "at": "2027-01-01T09:00:00Z"}]},
        {"device": "D", "items": [{"id": "x", "at": "0001-01-01T00:00:00+14:00"}]},
    ],
)
def test_malformed_syncs_are_refused_with_a_message(client, door, body) -> None:
    _world, event, _ada, _bo, _gone = door
    answer = client.post(_url(event, "/sync"), json=body)
    assert answer.status_code == 422
    assert answer.get_json()["message"] == "This is not a list of check-ins."


# --- offline devices --------------------------------------------------------------------------


def test_the_door_list_holds_no_email_and_no_answers(
    client, door, count_queries, make_user, make_registration
) -> None:
    _world, event, ada, _bo, _gone = door
    ada.answers = {"1": {"label": "Diet", "kind": "short_text", "value": "vegan secret"}}
    db.session.commit()
    with count_queries() as counter:
        response = client.get(_url(event, "/list"))
    body = response.get_json()
    text = response.get_data(as_text=True)
    assert "ada@example.org" not in text and "vegan secret" not in text
    assert response.headers["Cache-Control"] == "no-store"
    by_name = {e["name"]: e for e in body["entries"]}
    assert set(by_name["Ada Lovelace"]) == {
        "id", "name", "affiliation", "status", "status_label", "code", "refusal",
        "checked_in_at", "checked_in_by", "checked_in_text", "twice",
    }  # fmt: skip
    assert by_name["Ada Lovelace"]["code"] == ada.ticket_code
    assert by_name["Cy Gone"]["refusal"] == "This registration was cancelled."
    assert body["event"]["ends_at"]
    few = counter.count
    # More people, checked in by different staff, one twice: the same number of queries.
    for i in range(6):
        person = make_registration(make_user(), event)
        services.check_in(person, utcnow(), by=make_user(name=f"Staff {i}"))
        db.session.add(CheckInDuplicate(registration=person, checked_in_at=utcnow()))
    db.session.commit()
    with count_queries() as counter:
        client.get(_url(event, "/list"))
    assert counter.count == few


def test_offline_check_ins_sync_first_wins_and_the_duplicate_is_reported(
    client, door, make_member, login
) -> None:
    world, event, ada, bo, _gone = door
    now = utcnow()
    device_a, device_b = world.member, make_member(world.organisation, name="Bea Door")
    early, late = now - timedelta(minutes=10), now - timedelta(minutes=4)

    # Device B syncs first: Ada at the later time, Bo.
    login(device_b)
    answer = client.post(
        _url(event, "/sync"),
        json={
            "device": "Door B",
            "items": [
                {"id": ada.public_id, "at": late.isoformat()},
                {"id": bo.public_id, "at": late.isoformat()},
            ],
        },
    )
    assert answer.status_code == 200
    assert [r["outcome"] for r in answer.get_json()["results"]] == ["checked_in", "checked_in"]

    # Device A checked Ada in earlier, offline: its check-in is kept, B's is the duplicate.
    login(device_a)
    items = [{"id": ada.public_id, "at": early.isoformat().replace("+00:00", "Z")}]
    answer = client.post(_url(event, "/sync"), json={"device": "Door A", "items": items})
    [result] = answer.get_json()["results"]
    assert result["outcome"] == "twice"
    assert result["message"].startswith("Checked in twice: at ")
    assert f"by {device_a.name}, again at" in result["message"]
    assert "by Bea Door (another device)" in result["message"]
    assert answer.get_json()["arrivals"] == "2 of 2 checked in"
    checked = _fresh(ada)
    assert checked.checked_in_at == early and checked.checked_in_by_id == device_a.id

    # The same sync again (its answer was lost): nothing more.
    again = client.post(_url(event, "/sync"), json={"device": "Door A", "items": items})
    assert again.get_json()["results"][0]["outcome"] == "already"
    assert db.session.scalar(select(func.count()).select_from(CheckInDuplicate)) == 1

    # Device B, refreshing its list, sees the duplicate too.
    login(device_b)
    entries = {e["name"]: e for e in client.get(_url(event, "/list")).get_json()["entries"]}
    assert entries["Ada Lovelace"]["twice"] == result["message"]
    assert entries["Bo Chen"]["twice"] is None
    assert client.get(_url(event, "/count")).get_json()["stamp"] == "2/1"


def test_a_later_offline_check_in_is_the_duplicate_and_a_clock_ahead_counts_as_now(
    client, door
) -> None:
    world, event, ada, _bo, _gone = door
    first = utcnow() - timedelta(minutes=3)
    services.check_in(ada, first, by=world.second_member)
    db.session.commit()
    future = utcnow() + timedelta(days=2)
    answer = client.post(
        _url(event, "/sync"),
        json={"device": "Door A", "items": [{"id": ada.public_id, "at": future.isoformat()}]},
    )
    [result] = answer.get_json()["results"]
    assert result["outcome"] == "twice"
    assert f"by {world.second_member.name}, again at" in result["message"]
    assert "(Door A)" in result["message"]
    assert _fresh(ada).checked_in_at == first
    duplicate = db.session.scalar(select(CheckInDuplicate))
    assert duplicate.checked_in_at <= utcnow()


def test_a_removed_member_cannot_sync(client, door) -> None:
    world, event, ada, _bo, _gone = door
    db.session.execute(Membership.__table__.delete().where(Membership.user_id == world.member.id))
    db.session.commit()
    answer = client.post(
        _url(event, "/sync"),
        json={"device": "Door A", "items": [{"id": ada.public_id, "at": utcnow().isoformat()}]},
    )
    assert answer.status_code == 403
    assert _fresh(ada).checked_in_at is None


def test_the_service_worker_is_served_from_the_event_path(client, door) -> None:
    _world, event, _ada, _bo, _gone = door
    response = client.get(f"/manage/events/{event.id}/door-sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "no-cache" in response.headers["Cache-Control"]
    assert b'addEventListener("fetch"' in response.data


def test_logging_out_clears_the_door_devices_storage(client, door) -> None:
    response = client.post("/logout")
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
