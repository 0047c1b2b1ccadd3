"""Registration's pure rules: the window, the words of the registration box, and which
actions each registration allows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventsite.models import EventStatus, Registration, RegistrationStatus
from eventsite.registration import queries, rules

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


# --- the state on the event page ---------------------------------------------------------------


def state_message(event, now=NOW, counts=None) -> str:
    return rules.registration_state(event, now, counts or queries.count_places(event, now)).message


def test_state_shows_places_and_register_button(make_event) -> None:
    event = make_event(capacity=120)
    state = rules.registration_state(event, NOW, queries.PlaceCounts())
    assert state.can_register
    assert state.message == "120 places"
    assert state.button_label == "Register"


def test_state_says_only_a_few_places_left(make_event) -> None:
    event = make_event(capacity=10)
    state = rules.registration_state(event, NOW, queries.PlaceCounts(confirmed=5, pending=1))
    assert state.message == "Only 4 places left"
    one = rules.registration_state(event, NOW, queries.PlaceCounts(confirmed=9))
    assert one.message == "Only 1 place left"


def test_state_full_without_waiting_list_has_no_button(make_event) -> None:
    event = make_event(capacity=2)
    state = rules.registration_state(event, NOW, queries.PlaceCounts(confirmed=2))
    assert not state.can_register
    assert state.message == "This event is full"


def test_state_full_with_waiting_list_offers_the_list(make_event) -> None:
    event = make_event(capacity=2, has_waiting_list=True)
    state = rules.registration_state(event, NOW, queries.PlaceCounts(confirmed=2))
    assert state.can_register and state.joins_waiting_list
    assert state.message == "Waiting list open"
    assert state.button_label == "Join the waiting list"


def test_state_unlimited_event_is_open(make_event) -> None:
    assert state_message(make_event(capacity=None)) == "Registration open"


def test_state_before_the_window_says_when_it_opens(make_event) -> None:
    event = make_event(
        registration_opens_at=datetime(2026, 12, 10, 8, 0, tzinfo=UTC), timezone="Europe/Zurich"
    )
    state = rules.registration_state(event, NOW, queries.PlaceCounts())
    assert not state.can_register
    assert state.message.startswith("Registration opens on 10 December 2026")
    assert state.message.endswith("9:00 CET") or state.message.endswith("9:00\u202fam CET")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"registration_closes_at": NOW - timedelta(minutes=1)}, "Registration closed"),
        ({"status": EventStatus.CANCELLED}, "This event has been cancelled"),
        (
            {"starts_at": NOW - timedelta(days=2), "ends_at": NOW - timedelta(days=1)},
            "This event has ended",
        ),
        ({"status": EventStatus.DRAFT}, "Registration is not open"),
    ],
)
def test_state_says_why_registration_is_closed(make_event, overrides, message) -> None:
    event = make_event(**overrides)
    state = rules.registration_state(event, NOW, queries.PlaceCounts())
    assert not state.can_register
    assert state.message == message


# --- the window --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "state"),
    [
        ({}, rules.WindowState.OPEN),
        ({"status": EventStatus.DRAFT}, rules.WindowState.NOT_PUBLISHED),
        ({"status": EventStatus.CANCELLED}, rules.WindowState.CANCELLED),
        ({"registration_opens_at": NOW + timedelta(days=1)}, rules.WindowState.NOT_YET_OPEN),
        ({"registration_closes_at": NOW}, rules.WindowState.CLOSED),
        ({"registration_closes_at": NOW + timedelta(seconds=1)}, rules.WindowState.OPEN),
        # Started an hour ago, no closing time: open until it ends.
        (
            {"starts_at": NOW - timedelta(hours=1), "ends_at": NOW + timedelta(hours=7)},
            rules.WindowState.OPEN,
        ),
        # Day 2 of a three-day forum.
        (
            {"starts_at": NOW - timedelta(days=1), "ends_at": NOW + timedelta(days=1)},
            rules.WindowState.OPEN,
        ),
        ({"starts_at": NOW - timedelta(days=1), "ends_at": NOW}, rules.WindowState.ENDED),
    ],
)
def test_the_window_is_open_until_the_event_ends_unless_a_closing_time_was_set(
    make_event, overrides, state
) -> None:
    window = rules.window(make_event(**overrides), NOW)
    assert window.state == state
    assert window.is_open == (state == rules.WindowState.OPEN)


# --- the transition table ----------------------------------------------------------------------

A = rules.Action


@pytest.mark.parametrize(
    ("status", "checked_in", "allowed"),
    [
        (RegistrationStatus.PENDING, False, {A.APPROVE, A.REJECT, A.CANCEL}),
        (RegistrationStatus.WAITLISTED, False, {A.PROMOTE, A.CANCEL}),
        (RegistrationStatus.CONFIRMED, False, {A.CHECK_IN, A.CANCEL}),
        (RegistrationStatus.CONFIRMED, True, {A.UNDO_CHECK_IN, A.CANCEL}),
        (RegistrationStatus.CANCELLED, False, set()),
        (RegistrationStatus.CANCELLED, True, set()),
        (RegistrationStatus.REJECTED, False, set()),
    ],
)
def test_each_status_allows_its_actions_and_refuses_the_others_in_words(
    app, status, checked_in, allowed
) -> None:
    registration = Registration(status=status, checked_in_at=NOW if checked_in else None)
    assert rules.allowed_actions(registration) == allowed
    with app.test_request_context("/"):
        for action in set(rules.Action) - allowed:
            assert not rules.can(action, registration)
            with pytest.raises(rules.RegistrationError) as refused:
                rules.require(action, registration)
            assert str(refused.value).endswith(".")  # a sentence, for the flash
