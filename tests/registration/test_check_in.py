"""Checking in at the door: one check-in per person however many devices press at once,
only valid tickets, and the door's short undo."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from eventsite import database
from eventsite.extensions import db
from eventsite.models import Registration, RegistrationStatus
from eventsite.registration import rules, services
from eventsite.timeutil import utcnow

from ..servers import at_once


def test_two_devices_checking_in_one_person_at_once_make_one_check_in(
    app: Flask, make_event, make_user, make_registration
) -> None:
    event = make_event(timezone="Europe/Lisbon")
    registration = make_registration(make_user(name="Ada Example"), event)
    staff = [make_user(name="Ana Door"), make_user(name="Bo Door")]
    registration_id, staff_ids = registration.id, [u.id for u in staff]
    now = utcnow()

    def door(i: int) -> str:
        with app.app_context():
            try:
                database.lock_for_write()
                person = db.session.get(Registration, registration_id)
                by = db.session.get(type(staff[0]), staff_ids[i])
                services.check_in(person, now + timedelta(seconds=i), by=by)
                db.session.commit()
                return "checked in"
            except rules.AlreadyCheckedInError as err:
                return str(err)
            finally:
                db.session.remove()

    results = at_once([lambda i=i: door(i) for i in range(2)] * 4)
    assert results.count("checked in") == 1, results
    db.session.rollback()  # end the test's own read snapshot
    checked = db.session.get(Registration, registration_id)
    assert checked.checked_in_at is not None
    winner = checked.checked_in_by.name
    others = [r for r in results if r != "checked in"]
    assert all(str(r).startswith("Already checked in at ") for r in others)
    assert all(f"by {winner}." in str(r) for r in others)


@pytest.mark.parametrize(
    ("status", "hold", "reason"),
    [
        (RegistrationStatus.CANCELLED, False, "This registration was cancelled."),
        (RegistrationStatus.WAITLISTED, False, "on the waiting list"),
        (RegistrationStatus.PENDING, False, "awaits the organiser's approval"),
        (RegistrationStatus.CONFIRMED, True, "not confirmed their email address"),
    ],
)
def test_only_a_valid_ticket_checks_in(
    app, make_event, make_user, make_registration, status, hold, reason
) -> None:
    registration = make_registration(make_user(), make_event(), status)
    if hold:
        registration.hold_expires_at = utcnow() + timedelta(hours=1)
        db.session.commit()
    with pytest.raises(rules.RegistrationError, match=reason):
        services.check_in(registration, utcnow())
    db.session.rollback()
    assert db.session.get(Registration, registration.id).checked_in_at is None


def test_a_second_check_in_says_when_and_by_whom(
    app, make_event, make_user, make_registration
) -> None:
    event = make_event(timezone="Asia/Shanghai")
    registration = make_registration(make_user(), event)
    ana = make_user(name="Ana Example")
    first = utcnow().replace(hour=1, minute=14, second=0, microsecond=0)  # 09:14 in Beijing
    services.check_in(registration, first, by=ana)
    db.session.commit()
    assert registration.checked_in_by_id == ana.id
    with pytest.raises(rules.AlreadyCheckedInError) as err:
        services.check_in(registration, first + timedelta(minutes=3), by=make_user())
    assert str(err.value) == "Already checked in at 09:14 by Ana Example."
    assert db.session.get(Registration, registration.id).checked_in_at == first


def test_the_door_undoes_only_a_recent_check_in(
    app, make_event, make_user, make_registration
) -> None:
    registration = make_registration(make_user(), make_event())
    now = utcnow()
    services.check_in(registration, now, by=make_user())
    window = services.DOOR_UNDO_WINDOW
    with pytest.raises(rules.RegistrationError, match="too old to undo"):
        services.undo_check_in(registration, now + window + timedelta(seconds=1), within=window)
    services.undo_check_in(registration, now + window, within=window)
    assert registration.checked_in_at is None and registration.checked_in_by_id is None
    # The registrants table undoes any check-in.
    services.check_in(registration, now, by=None)
    services.undo_check_in(registration, now + timedelta(days=1))
    assert registration.checked_in_at is None
