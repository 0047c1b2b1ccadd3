"""Emails to registrants: about their own registration, each with its calendar invitation,
and about a change to or the cancellation of their event, with the event's new .ics.

The organiser's service changes the event (raising its revision:
events.revision.bump_revision_if_moved or events.services.cancel_event) and then calls
notify_event_changed / notify_event_cancelled in the same transaction; the messages go
through the outbox, so they are sent only if that transaction commits.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from eventsite import links, templating
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.ical import builders
from eventsite.mail import services as mail
from eventsite.registration import answers, queries
from eventsite.registration.models import Registration, RegistrationStatus


def status_label(status: str) -> str:
    labels = {
        RegistrationStatus.CONFIRMED: _("Confirmed"),
        RegistrationStatus.WAITLISTED: _("On the waiting list"),
        RegistrationStatus.PENDING: _("Awaiting approval"),
        RegistrationStatus.CANCELLED: _("Cancelled"),
        RegistrationStatus.REJECTED: _("Not accepted"),
    }
    return labels.get(RegistrationStatus(status), str(status))


def manage_url(registration: Registration) -> str:
    """Absolute address of the registration page, built without a request."""
    return links.external_url("registration.detail", public_id=registration.public_id)


def event_url(event: Event) -> str:
    return links.external_url("events.detail", slug=event.slug)


def _subject(template: str, registration: Registration) -> str:
    title = registration.event.title
    status = registration.status
    if template == "registration_confirmation":
        if status == RegistrationStatus.WAITLISTED:
            return _("You are on the waiting list: %(title)s", title=title)
        if status == RegistrationStatus.PENDING:
            return _("Registration received, awaiting approval: %(title)s", title=title)
        return _("You are registered: %(title)s", title=title)
    if template == "registration_promoted":
        if status == RegistrationStatus.PENDING:
            return _("You are off the waiting list, awaiting approval: %(title)s", title=title)
        return _("A place is yours: %(title)s", title=title)
    if template == "registration_approved":
        return _("Your registration is confirmed: %(title)s", title=title)
    if template == "registration_rejected":
        return _("Your registration was not accepted: %(title)s", title=title)
    return _("Registration cancelled: %(title)s", title=title)


def _calendar_attachment(registration: Registration, now: datetime) -> list[mail.Attachment]:
    event = registration.event
    data = _event_invitation(registration, current_app.config["BASE_URL"].rstrip("/"), now)
    return [
        mail.Attachment(
            filename=f"{event.slug}.ics",
            content_type="text/calendar; charset=utf-8; method=REQUEST",
            data=data,
        )
    ]


def _event_invitation(registration: Registration, base_url: str, now: datetime) -> bytes:
    """The registrant's METHOD:REQUEST calendar: the event with the registrant as its
    ATTENDEE (RFC 5546 3.2.2), as in the update emails (notify_event_changed). Built for
    each message, so a renamed organisation or topic is never stale: about 0.4 ms, the
    description's plain text being stored on the event."""
    attendee, variant = registrant_attendee(registration)
    return builders.build_event_calendar(
        registration.event,
        method="REQUEST",
        attendee=attendee,
        variant=variant,
        now=now,
        base_url=base_url,
    )


def notify_promoted(registration: Registration, now: datetime) -> None:
    """Tell someone taken off the waiting list (by a cancellation or an organiser)."""
    notify(registration, "registration_promoted", now)


def notify(
    registration: Registration, template: str, now: datetime, *, rank: int | None = None
) -> None:
    """Queue the email; `rank` saves a query when the caller knows the waiting-list rank."""
    event = registration.event
    user = registration.user
    holds_place = registration.status == RegistrationStatus.CONFIRMED
    attachments = (
        _calendar_attachment(registration, now)
        if holds_place
        and template
        in ("registration_confirmation", "registration_promoted", "registration_approved")
        else []
    )
    mail.queue_email(
        user.email,
        _subject(template, registration),
        template,
        category="registration",
        attachments=attachments,
        registration=registration,
        event=event,
        user=user,
        status=str(registration.status),
        status_label=status_label(registration.status),
        rank=rank if rank is not None else queries.waitlist_rank(registration),
        answers=answers.answer_rows(registration),
        manage_url=manage_url(registration),
        event_url=event_url(event),
        dates=templating.event_dates(event),
        times=templating.event_times(event),
    )


# --- calendar updates: the event changed or was cancelled ---------------------------------


def registrant_attendee(registration: Registration) -> tuple[builders.Attendee, builders.Variant]:
    """How a registrant appears in every invitation sent to them (confirmation, update,
    cancellation): their ATTENDEE line (RFC 5546 3.2.2: a REQUEST names its attendee)
    ACCEPTED and the event CONFIRMED when they hold a place; TENTATIVE both while
    waitlisted or awaiting approval."""
    confirmed = registration.status == RegistrationStatus.CONFIRMED
    attendee = builders.Attendee(
        email=registration.user.email,
        name=registration.user.name,
        partstat="ACCEPTED" if confirmed else "TENTATIVE",
    )
    return attendee, builders.Variant(status="CONFIRMED" if confirmed else "TENTATIVE")


def _recipients(event: Event) -> list[tuple[Registration, builders.Attendee, builders.Variant]]:
    stmt = queries.active_registrations_for_event(event).options(joinedload(Registration.user))
    return [
        (registration, *registrant_attendee(registration))
        for registration in db.session.scalars(stmt)
    ]


def _queue_calendar_update(
    event: Event, now: datetime, *, method: str, template: str, subject: str
) -> int:
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
    return _queue_calendar_update(
        event, now, method="REQUEST", template="event_updated", subject=subject
    )


def notify_event_cancelled(event: Event, now: datetime) -> int:
    """Email every active registrant that the event is cancelled, with METHOD:CANCEL so
    calendars remove it. Call after events.services.cancel_event (registrations stay
    active until then, so they are the people to tell)."""
    subject = _("Cancelled: %(title)s", title=event.title)
    return _queue_calendar_update(
        event, now, method="CANCEL", template="event_cancelled", subject=subject
    )
