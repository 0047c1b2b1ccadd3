"""Emails to registrants about their own registration, each with its calendar invitation."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _

from eventsite import links, templating
from eventsite.events.models import Event
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
    ATTENDEE (RFC 5546 3.2.2), as in the update emails (ical.notifications). Built for
    each message, so a renamed organisation or topic is never stale: about 0.4 ms, the
    description's plain text being stored on the event."""
    from eventsite.ical import builders
    from eventsite.ical import notifications as ical_notifications

    attendee, variant = ical_notifications.registrant_attendee(registration)
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
