"""The waiting list is in the order places were decided, under the event's lock: the number
in the email is the number on the page, and the first in the list is the first promoted.

A request's `now` is read before it waits for the lock, so two requests can decide in the
opposite order of their clocks: the one that started first may get the lock second.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from eventsite.extensions import db
from eventsite.models import RegistrationStatus
from eventsite.registration import queries, services

from .conftest import NOW

pytestmark = pytest.mark.usefixtures("smtp_sink")

NUMBER = re.compile(r"on the waiting list: number (\d+)\.")


def emailed_ranks(mailbox) -> dict[str, int]:
    """{address: the waiting-list number its confirmation states}."""
    ranks = {}
    for message in mailbox():
        found = NUMBER.search(message.text)
        if found:
            ranks[message.rcpt_tos[0]] = int(found.group(1))
    return ranks


def test_rank_is_the_order_places_were_decided_not_when_requests_started(
    make_event, make_user, mailbox, login, client
) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    holder = services.register_attendee(make_user(), event, {}, NOW)
    db.session.commit()
    early, late = make_user(email="early@example.org"), make_user(email="late@example.org")

    # `early` read the clock first, but `late` got the lock first and was put on the list.
    late_registration = services.register_attendee(late, event, {}, NOW + timedelta(seconds=2))
    db.session.commit()
    early_registration = services.register_attendee(early, event, {}, NOW + timedelta(seconds=1))
    db.session.commit()

    assert emailed_ranks(mailbox) == {"late@example.org": 1, "early@example.org": 2}
    assert queries.waitlist_rank(late_registration) == 1
    assert queries.waitlist_rank(early_registration) == 2
    assert queries.waitlist_ranks([early_registration, late_registration]) == {
        late_registration.id: 1,
        early_registration.id: 2,
    }
    login(early)
    page = client.get(f"/registrations/{early_registration.public_id}").get_data(as_text=True)
    assert "number 2 on the waiting list" in page

    # The freed place goes to the first in the list.
    promoted = services.cancel_registration(holder, NOW + timedelta(minutes=1))
    assert [r.id for r in promoted] == [late_registration.id]
    assert early_registration.status == RegistrationStatus.WAITLISTED
    assert queries.waitlist_rank(early_registration) == 1


def test_an_organiser_promotes_out_of_turn_and_the_rest_keep_their_order(
    make_event, make_user, mailbox
) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    holder = services.register_attendee(make_user(), event, {}, NOW)
    waiting = [
        services.register_attendee(make_user(), event, {}, NOW + timedelta(seconds=10 - n))
        for n in range(3)
    ]  # each decided after the one before, with an ever earlier clock
    db.session.commit()
    event.capacity = 2
    db.session.commit()

    services.promote_registration(waiting[2], NOW + timedelta(minutes=1))
    db.session.commit()

    assert waiting[2].status == RegistrationStatus.CONFIRMED
    assert [queries.waitlist_rank(r) for r in waiting[:2]] == [1, 2]
    services.cancel_registration(holder, NOW + timedelta(minutes=2))
    db.session.commit()
    assert [r.status for r in waiting] == ["confirmed", "waitlisted", "confirmed"]
