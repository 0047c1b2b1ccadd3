"""Update and cancellation emails to registrants, each with the event's new .ics attached.

The organiser's service changes the event (raising its revision: services.bump_revision_if_moved
or events.services.cancel_event) and then calls one of these in the same transaction; the
messages go through the outbox, so they are sent only if that transaction commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from eventsite import templating
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.ical import builders
from eventsite.mail import services as mail

if TYPE_CHECKING:  # registration.notifications calls this module: import back only when used
    from eventsite.registration.models import Registration


def registrant_attendee(registration: Registration) -> tuple[builders.Attendee, builders.Variant]:
    """How a registrant appears in every invitation sent to them (confirmation, update,
    cancellation): their ATTENDEE line (RFC 5546 3.2.2: a REQUEST names its attendee)
    ACCEPTED and the event CONFIRMED when they hold a place; TENTATIVE both while
    waitlisted or awaiting approval."""
    from eventsite.registration.models import RegistrationStatus

    confirmed = registration.status == RegistrationStatus.CONFIRMED
    attendee = builders.Attendee(
        email=registration.user.email,
        name=registration.user.name,
        partstat="ACCEPTED" if confirmed else "TENTATIVE",
    )
    return attendee, builders.Variant(status="CONFIRMED" if confirmed else "TENTATIVE")


def _recipients(event: Event) -> list[tuple[Registration, builders.Attendee, builders.Variant]]:
    from eventsite.registration import queries as registration_queries
    from eventsite.registration.models import Registration

    stmt = registration_queries.active_registrations_for_event(event).options(
        joinedload(Registration.user)
    )
    return [
        (registration, *registrant_attendee(registration))
        for registration in db.session.scalars(stmt)
    ]


def _queue(event: Event, now: datetime, *, method: str, template: str, subject: str) -> int:
    base_url = current_app.config["BASE_URL"].rstrip("/")
    context = {
        "event": event,
        "event_url": builders.event_url(event, base_url),
        "dates": templating.event_dates(event),
        "times": templating.event_times(event),
        "location": builders.event_location(event),
    }
    count = 0
    for registration, attendee, variant in _recipients(event):
        data = builders.build_event_calendar(
            event, method=method, attendee=attendee, variant=variant, now=now, base_url=base_url
        )
        attachment = mail.Attachment(
            filename=f"{event.slug}.ics",
            content_type=f"text/calendar; charset=utf-8; method={method}",
            data=data,
        )
        mail.queue_email(
            attendee.email,
            subject,
            template,
            category="calendar",
            attachments=[attachment],
            user=registration.user,
            registration=registration,
            **context,
        )
        count += 1
    return count


def notify_event_changed(event: Event, now: datetime) -> int:
    """Email every active registrant the changed date, time or place with the event as
    METHOD:REQUEST (same UID, the raised SEQUENCE), so calendars move their copy.
    Returns the number of messages queued."""
    subject = _("Changed: %(title)s", title=event.title)
    return _queue(event, now, method="REQUEST", template="event_updated", subject=subject)


def notify_event_cancelled(event: Event, now: datetime) -> int:
    """Email every active registrant that the event is cancelled, with METHOD:CANCEL so
    calendars remove it. Call after events.services.cancel_event (registrations stay
    active until then, so they are the people to tell)."""
    subject = _("Cancelled: %(title)s", title=event.title)
    return _queue(event, now, method="CANCEL", template="event_cancelled", subject=subject)
