"""The ticket in the emails that give someone a place: the QR code as an inline PNG that
decodes back to the registration, the code and the printable ticket's link; none while
waiting, awaiting approval or an email confirmation."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from eventsite.extensions import db
from eventsite.models import RegistrationStatus
from eventsite.registration import services, tickets

from .conftest import NOW

pytestmark = pytest.mark.usefixtures("smtp_sink")


def qr_images(received) -> list[tuple[str, bytes]]:
    """(Content-ID, PNG) of each image inside the message's HTML alternative."""
    return [
        (str(part["Content-ID"]), part.get_payload(decode=True))
        for part in received.message.walk()
        if part.get_content_maintype() == "image"
    ]


def decoded(png: bytes) -> str:
    [result] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    return result.text


def assert_ticket(received, registration) -> None:
    [(content_id, png)] = qr_images(received)
    part = next(p for p in received.message.walk() if p.get_content_maintype() == "image")
    assert part.get_content_disposition() == "inline"
    assert received.message.get_body(("related",)) is not None  # beside the HTML it is shown in
    assert f'src="cid:{content_id.strip("<>")}"' in received.html
    # the picture in the email is the ticket: scanned at the door, it finds the registration
    value = decoded(png)
    assert value == tickets.ticket_value(registration)
    assert tickets.find_ticket(registration.event, value) == registration
    code = tickets.display_code(registration)
    assert code in received.html
    assert f"Your ticket: {code}" in received.text
    assert f"/registrations/{registration.public_id}/ticket" in received.link("/ticket")
    # nothing about the person in the value
    assert registration.user.email not in value


def assert_no_ticket(received) -> None:
    assert qr_images(received) == []
    assert "Your ticket" not in received.text
    assert "/ticket" not in received.text
    assert "cid:" not in received.html


def test_confirmation_carries_the_ticket_beside_the_calendar_invitation(
    make_event, make_user, register, mailbox
) -> None:
    event = make_event(title="Forum")
    registration = register(make_user(), event)

    [received] = mailbox()

    assert received.subject == "You are registered: Forum"
    assert_ticket(received, registration)
    # the calendar invitation is still the message's last alternative and its attachment
    assert received.message.get_content_type() == "multipart/mixed"
    alternative, attachment = received.message.get_payload()
    assert [p.get_content_type() for p in alternative.get_payload()] == [
        "text/plain",
        "multipart/related",
        "text/calendar",
    ]
    assert attachment.get_filename() == f"{event.slug}.ics"


def test_waiting_list_email_has_no_ticket_and_the_promotion_brings_it(
    make_event, make_user, register, mailbox
) -> None:
    event = make_event(capacity=1, has_waiting_list=True)
    first = register(make_user(), event)
    waiting = register(make_user(), event)
    assert waiting.status == RegistrationStatus.WAITLISTED
    confirmed, waitlisted = mailbox()
    assert_ticket(confirmed, first)
    assert waitlisted.subject.startswith("You are on the waiting list")
    assert_no_ticket(waitlisted)

    services.cancel_registration(first, NOW)
    db.session.commit()

    by_subject = {m.subject.split(":")[0]: m for m in mailbox()}
    assert_no_ticket(by_subject["Registration cancelled"])
    assert_ticket(by_subject["A place is yours"], waiting)


def test_awaiting_approval_has_no_ticket_and_the_approval_brings_it(
    make_event, make_user, register, mailbox
) -> None:
    event = make_event(requires_approval=True)
    registration = register(make_user(), event)
    [pending] = mailbox()
    assert pending.subject.startswith("Registration received, awaiting approval")
    assert_no_ticket(pending)

    services.approve_registration(registration, NOW)
    db.session.commit()

    [approved] = mailbox()
    assert approved.subject.startswith("Your registration is confirmed")
    assert_ticket(approved, registration)


def test_a_restored_place_gets_its_ticket_again(make_event, make_user, register, mailbox) -> None:
    event = make_event()
    registration = register(make_user(), event)
    services.cancel_registration(registration, NOW, by_organiser=True)
    db.session.commit()
    mailbox()

    restored = services.restore_registration(registration, NOW)
    db.session.commit()

    [received] = mailbox()
    assert received.subject.startswith("Your place is back")
    assert_ticket(received, restored)


def test_a_held_place_gets_its_ticket_once_the_address_is_confirmed(
    client, make_event, mailbox
) -> None:
    event = make_event(title="Forum")
    client.post(
        f"/events/{event.slug}/register",
        data={"name": "Ada Lovelace", "email": "ada@example.org", "country": "GB"},
    )
    [hold] = mailbox()
    assert_no_ticket(hold)

    response = client.get(hold.link("/registrations/confirm/"))
    assert response.status_code == 302

    [confirmation] = mailbox()
    assert confirmation.subject == "You are registered: Forum"
    registration = tickets.find_ticket(event, decoded(qr_images(confirmation)[0][1]))
    assert registration.user.email == "ada@example.org"
    assert_ticket(confirmation, registration)
