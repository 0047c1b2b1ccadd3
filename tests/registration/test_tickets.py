"""Tickets: the code people read out, the signed QR value, and why a ticket lets nobody in."""

from __future__ import annotations

import pytest

from eventsite.extensions import db
from eventsite.models import EventStatus, RegistrationStatus
from eventsite.registration import tickets
from eventsite.registration.models import TICKET_ALPHABET


def test_every_registration_has_a_code_without_look_alikes(
    make_event, make_user, make_registration
) -> None:
    event = make_event()
    codes = {make_registration(make_user(), event).ticket_code for _ in range(5)}
    assert len(codes) == 5
    for code in codes:
        assert len(code) == 8
        assert not set(code) & set("01OIL")
        assert set(code) <= set(TICKET_ALPHABET)


def test_typed_code_and_scanned_value_find_the_same_registration(
    make_event, make_user, make_registration
) -> None:
    event = make_event()
    registration = make_registration(make_user(), event)
    shown = tickets.display_code(registration)
    assert shown[4] == "-"
    assert tickets.find_ticket(event, shown.lower().replace("-", " ")) == registration
    value = tickets.ticket_value(registration)
    assert tickets.find_ticket(event, value) == registration
    # the value says nothing about the person
    assert registration.user.email not in value
    assert registration.user.name not in value


@pytest.mark.parametrize(
    "forge",
    [
        # One character of the signature changed: not the last, whose low bits base64
        # decoding ignores (A, B, C and D end a signature alike).
        lambda value: value[:-5] + ("A" if value[-5] != "A" else "B") + value[-4:],
        lambda value: "ZZZZ2222" + value[8:],
        lambda value: "ZZZZ2222",
        lambda value: "not a ticket",
        lambda value: "",
    ],
)
def test_forged_or_altered_values_are_refused(
    make_event, make_user, make_registration, forge
) -> None:
    event = make_event()
    registration = make_registration(make_user(), event)
    with pytest.raises(tickets.TicketError, match="not a ticket of this site"):
        tickets.find_ticket(event, forge(tickets.ticket_value(registration)))


def test_a_ticket_of_another_event_is_refused(make_event, make_user, make_registration) -> None:
    registration = make_registration(make_user(), make_event())
    with pytest.raises(tickets.TicketError, match="another event"):
        tickets.find_ticket(make_event(), tickets.ticket_value(registration))


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (RegistrationStatus.CANCELLED, "was cancelled"),
        (RegistrationStatus.REJECTED, "declined"),
        (RegistrationStatus.WAITLISTED, "waiting list"),
        (RegistrationStatus.PENDING, "approval"),
    ],
)
def test_only_confirmed_registrations_have_a_valid_ticket(
    make_event, make_user, make_registration, status, words
) -> None:
    event = make_event()
    registration = make_registration(make_user(), event, status)
    assert not tickets.has_valid_ticket(registration)
    with pytest.raises(tickets.TicketError, match=words):
        tickets.find_ticket(event, tickets.ticket_value(registration))


def test_a_cancelled_event_voids_its_tickets(make_event, make_user, make_registration) -> None:
    event = make_event()
    registration = make_registration(make_user(), event)
    assert tickets.has_valid_ticket(registration)
    event.status = EventStatus.CANCELLED
    db.session.commit()
    assert not tickets.has_valid_ticket(registration)
    with pytest.raises(tickets.TicketError, match="event was cancelled"):
        tickets.find_ticket(event, tickets.display_code(registration))


def test_qr_code_decodes_back_to_the_ticket_value(make_event, make_user, make_registration) -> None:
    import io

    import zxingcpp
    from PIL import Image

    registration = make_registration(make_user(), make_event())
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(tickets.qr_png(registration))))
    assert [barcode.text for barcode in decoded] == [tickets.ticket_value(registration)]
    assert "<svg" in tickets.qr_svg(registration)
