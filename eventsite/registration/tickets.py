"""Tickets: the short code a person reads out at the door and the signed value in its QR code.

Every registration carries a random `ticket_code` (`models.new_ticket_code`: eight characters
without look-alikes, shown as "ABCD-2345"). The QR code holds that code signed with the site's
secret (itsdangerous), so a value nobody issued is refused before any lookup and nothing about
the person can be read from it. A ticket is valid only while its registration is confirmed
(not held for an email confirmation) and the event is not cancelled; `invalid_reason` says
in words why any other ticket does not let its holder in, and `find_ticket` reads a ticket
at the door.

Where a ticket is shown: the registration page and its printable page (`qr_svg`), and the
emails that give someone a place (`email_ticket`: the QR code as an inline PNG, shown by
`templates/email/_ticket.html`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import segno
from flask import current_app
from itsdangerous import BadSignature, Signer
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from eventsite import links
from eventsite.events.models import Event, EventStatus
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.mail import services as mail
from eventsite.registration.models import (
    TICKET_ALPHABET,
    TICKET_CODE_LENGTH,
    Registration,
    RegistrationStatus,
)
from eventsite.registration.rules import RegistrationError

_SALT = "eventsite.ticket"


class TicketError(RegistrationError):
    """A ticket that does not let its holder in, with the reason in words."""


def _signer() -> Signer:
    return Signer(current_app.secret_key, salt=_SALT)


def display_code(registration: Registration) -> str:
    """ "ABCD-2345": the code as printed and read out."""
    code = registration.ticket_code
    half = TICKET_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def normalise_code(text: str) -> str | None:
    """What someone typed ("abcd 2345", "ABCD-2345") as a stored code, or None when it
    cannot be one (wrong length, a character the codes never use)."""
    code = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(code) != TICKET_CODE_LENGTH or any(ch not in TICKET_ALPHABET for ch in code):
        return None
    return code


def ticket_value(registration: Registration) -> str:
    """The QR code's content: the ticket code and its signature, nothing about the person."""
    return _signer().sign(registration.ticket_code).decode()


def has_valid_ticket(registration: Registration) -> bool:
    """Confirmed, not waiting for the email address to be confirmed, event not cancelled."""
    return (
        registration.status == RegistrationStatus.CONFIRMED
        and registration.hold_expires_at is None
        and registration.event.status != EventStatus.CANCELLED
    )


def with_valid_tickets(
    event: Event, registration_ids: Sequence[int] | None = None
) -> list[Registration]:
    """The event's registrations whose ticket is valid (`has_valid_ticket`, in SQL), with
    their people, in one query; only those among `registration_ids` when it is given."""
    if event.status == EventStatus.CANCELLED:
        return []
    stmt = (
        select(Registration)
        .join(Registration.user)
        .options(contains_eager(Registration.user))
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.CONFIRMED,
            Registration.hold_expires_at.is_(None),
        )
    )
    if registration_ids is not None:
        stmt = stmt.where(Registration.id.in_(list(registration_ids)))
    return list(db.session.scalars(stmt))


def invalid_reason(registration: Registration) -> str | None:
    """Why this registration's ticket lets nobody in, or None when it is valid."""
    if registration.event.status == EventStatus.CANCELLED:
        return _("This event was cancelled.")
    if registration.status == RegistrationStatus.CANCELLED:
        return _("This registration was cancelled.")
    if registration.status == RegistrationStatus.REJECTED:
        return _("This registration was declined.")
    if registration.status == RegistrationStatus.WAITLISTED:
        return _("This person is on the waiting list and has no place.")
    if registration.status == RegistrationStatus.PENDING:
        return _("This registration still awaits the organiser's approval.")
    if registration.hold_expires_at is not None:
        return _("This person has not confirmed their email address yet.")
    return None


def _registration_with_code(code: str) -> Registration | None:
    return db.session.scalar(select(Registration).where(Registration.ticket_code == code))


def find_ticket(event: Event, text: str) -> Registration:
    """The registration a scanned QR value or a typed code names, for this event's door.

    Raises `TicketError` for a value nobody issued (forged or altered), a code of another
    event, and a registration whose ticket is not valid (cancelled, waitlisted…)."""
    text = text.strip()
    try:
        code = _signer().unsign(text).decode() if "." in text else normalise_code(text)
    except BadSignature:
        code = None
    registration = _registration_with_code(code) if code else None
    if registration is None:
        raise TicketError(_("This is not a ticket of this site."))
    if registration.event_id != event.id:
        raise TicketError(_("This ticket is for another event."))
    reason = invalid_reason(registration)
    if reason is not None:
        raise TicketError(reason)
    return registration


def qr_svg(registration: Registration, *, scale: int = 6) -> Markup:
    """The ticket's QR code as inline SVG: an image named by its title, drawn `scale` px
    per module (version 3 with its quiet zone: 222 px, which a phone reads from arm's
    length), with a viewBox so a style sheet can scale it (smaller screens, paper)."""
    qr = _qr(registration)
    title = _("Ticket %(code)s", code=display_code(registration))
    svg = qr.svg_inline(scale=scale, omitsize=True, title=title)  # segno XML-escapes the title
    size = qr.symbol_size(scale=scale)[0]
    return Markup(svg.replace("<svg ", f'<svg width="{size}" height="{size}" role="img" ', 1))


def qr_png(registration: Registration, *, scale: int = 6) -> bytes:
    """The ticket's QR code as PNG bytes (inline in emails)."""
    buffer = io.BytesIO()
    _qr(registration).save(buffer, kind="png", scale=scale)
    return buffer.getvalue()


def _qr(registration: Registration) -> segno.QRCode:
    return _qr_of(ticket_value(registration))


@lru_cache(maxsize=1024)
def _qr_of(value: str) -> segno.QRCode:
    # segno tries the eight masks in pure Python and keeps the most readable: most of a
    # QR code's cost (measured: about 3x its PNG encoding). A value's code never changes,
    # so a page shown again, and an email's PNG and its size, reuse it.
    return segno.make_qr(value, error="m")


def print_url(registration: Registration) -> str:
    """Absolute address of the printable ticket, built without a request."""
    return links.external_url("registration.ticket", public_id=registration.public_id)


@dataclass(frozen=True)
class EmailTicket:
    """What `templates/email/_ticket.html`/`.txt` show as `ticket`, and the inline QR image
    the message must carry among its attachments (`image`)."""

    code: str
    url: str
    image: mail.Attachment
    size: int  # the PNG's width and height in pixels

    @property
    def cid(self) -> str:
        return self.image.content_id or ""


def email_ticket(registration: Registration, *, scale: int = 6) -> EmailTicket | None:
    """The ticket for an email to its holder, or None when the registration has no valid
    ticket (waiting, awaiting approval or email confirmation, cancelled)."""
    if not has_valid_ticket(registration):
        return None
    code = display_code(registration)
    png = qr_png(registration, scale=scale)
    image = mail.inline_image(f"ticket-{code}.png", "image/png", png)
    size = _qr(registration).symbol_size(scale=scale)[0]
    return EmailTicket(code=code, url=print_url(registration), image=image, size=size)
