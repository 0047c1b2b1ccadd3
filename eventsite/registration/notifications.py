"""Emails to registrants: about their own registration, each with its calendar invitation,
and about a change to or the cancellation of their event, with the event's new .ics.

The organiser's service changes the event (raising its revision:
events.revision.bump_revision_if_moved or events.services.cancel_event) and then calls
notify_event_changed / notify_event_cancelled in the same transaction; the messages go
through the outbox, so they are sent only if that transaction commits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel.speaklater import LazyString
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from eventsite import links, templating
from eventsite.accounts.models import User
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l
from eventsite.ical import builders, content
from eventsite.mail import services as mail
from eventsite.registration import answers, queries, rules, tickets
from eventsite.registration.models import ACTIVE_STATUSES, Registration, RegistrationStatus

log = logging.getLogger("eventsite.registration")


def status_label(status: str) -> str:
    labels = {
        RegistrationStatus.CONFIRMED: _("Confirmed"),
        RegistrationStatus.WAITLISTED: _("On the waiting list"),
        RegistrationStatus.PENDING: _("Awaiting approval"),
        RegistrationStatus.CANCELLED: _("Cancelled"),
        RegistrationStatus.REJECTED: _("Not accepted"),
    }
    return labels.get(RegistrationStatus(status), str(status))


def hold_note(
    status: str, hold_expires_at: datetime | None, is_hold_expired: bool, when: str, now: datetime
) -> str:
    """What the organiser's table and exports add to the status of a place held for an
    email confirmation (`when`: the hold's end, written for the reader), or "". A hold that
    ran out is said to have expired even before anything released it."""
    active = RegistrationStatus(status) in ACTIVE_STATUSES
    if is_hold_expired or (active and hold_expires_at is not None and hold_expires_at <= now):
        return _("expired, never confirmed")
    if active and hold_expires_at is not None:
        return _("awaiting email confirmation (until %(when)s)", when=when)
    return ""


def manage_url(registration: Registration) -> str:
    """Absolute address of the registration page, built without a request."""
    return links.external_url("registration.detail", public_id=registration.public_id)


def event_url(event: Event) -> str:
    return links.external_url("events.detail", slug=event.slug)


def _subject(template: str, event: Event, status: RegistrationStatus) -> str:
    title = event.title
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
    if template == "registration_restored":
        if status == RegistrationStatus.PENDING:
            return _("Your registration is back, awaiting approval: %(title)s", title=title)
        return _("Your place is back: %(title)s", title=title)
    if template == "registration_reminder":
        return _("Reminder: %(title)s, %(dates)s", title=title, dates=templating.event_dates(event))
    if template == "registration_cancelled_by_organiser":
        return _("The organisers cancelled your registration: %(title)s", title=title)
    return _("Registration cancelled: %(title)s", title=title)


def invitation_sequence(registration: Registration, *, cancel: bool = False) -> int:
    """The SEQUENCE of an invitation sent to this registrant.

    RFC 5546 2.1.4: each REQUEST or CANCEL of the same UID to a person must carry a higher
    SEQUENCE than the last, or their calendar ignores it. The event's revision rises with
    every change of the event; on top of it, each earlier registration of the same person
    for the event adds 2 (its REQUEST's turn and its CANCEL's) and this registration's
    own CANCEL adds 1. With k earlier registrations and the revision at r1 <= r2 <= r3 <= r4
    over time: REQUEST r1+2k, updates r2+2k, CANCEL r3+2k+1, the next registration's REQUEST
    r4+2k+2, always rising. Registrations are never deleted while their person exists.
    """
    return _sequence(registration.event, _earlier_registrations(registration), cancel=cancel)


def _sequence(event: Event, earlier: int, *, cancel: bool = False) -> int:
    return (event.revision or 0) + 2 * earlier + (1 if cancel else 0)


def _earlier_registrations(registration: Registration) -> int:
    return (
        db.session.scalar(
            select(func.count()).where(
                Registration.event_id == registration.event_id,
                Registration.user_id == registration.user_id,
                Registration.id < registration.id,
            )
        )
        or 0
    )


def _invitation(
    registration: Registration, method: str, sequence: int, now: datetime
) -> mail.Attachment:
    """The registrant's METHOD:REQUEST / METHOD:CANCEL calendar, with them as its ATTENDEE
    (RFC 5546 3.2.2). Built for each message, so a renamed organisation or topic is never
    stale: about 0.4 ms, the description's plain text being stored on the event. In the
    registrant's language, as the message it goes with."""
    event = registration.event
    with force_locale(registration.user.language):
        data = builders.build_registrant_invitation(
            event,
            method=method,
            attendee=registrant_attendee(registration, declined=method == "CANCEL"),
            sequence=sequence,
            now=now,
            base_url=current_app.config["BASE_URL"].rstrip("/"),
        )
    return mail.calendar_invitation(f"{event.slug}.ics", method, data)


def notify_promoted(registration: Registration, now: datetime) -> None:
    """Tell someone taken off the waiting list (by a cancellation or an organiser)."""
    notify(registration, "registration_promoted", now)


# The messages that tell someone the place is theirs (when it is confirmed).
PLACE_TEMPLATES = (
    "registration_confirmation",
    "registration_promoted",
    "registration_approved",
    "registration_restored",
)


def notify_reminder(registration: Registration, now: datetime) -> None:
    """The reminder before the event (registration/jobs.py claims it first): the dates, the
    place or join link, the calendar invitation again and the registration page."""
    _queue(registration, "registration_reminder", now, invitation="REQUEST", ticket=True)


def notify(
    registration: Registration,
    template: str,
    now: datetime,
    *,
    rank: int | None = None,
    reason: str = "",
) -> None:
    """Queue the email; `rank` saves a query when the caller knows the waiting-list rank;
    `reason` is an organiser's words to the person (a rejection)."""
    _queue(
        registration,
        template,
        now,
        **_place_parts(template, RegistrationStatus(registration.status), registration.is_held),
        rank=rank,
        reason=reason,
    )


def _place_parts(template: str, status: RegistrationStatus, held: bool) -> dict[str, Any]:
    """What a message about the place carries: the calendar invitation, the ticket."""
    # Only a confirmed place is an invitation: someone waiting or awaiting approval gets
    # their first REQUEST when they get the place (promoted, approved). A restored place is
    # a registration of its own, so its REQUEST rises above the CANCEL sent before it.
    # The same messages carry the ticket, once it is valid (a held place gets it when the
    # address is confirmed: that sends the confirmation).
    invited = status == RegistrationStatus.CONFIRMED and not held and template in PLACE_TEMPLATES
    return {"invitation": "REQUEST" if invited else None, "ticket": template in PLACE_TEMPLATES}


def notify_cancelled(
    registration: Registration,
    previous_status: RegistrationStatus,
    now: datetime,
    *,
    by_organiser: bool = False,
    reason: str = "",
) -> None:
    """Tell someone their registration is cancelled, in the words for who did it (they, or
    an organiser, with the organiser's `reason` if they gave one). If it was a confirmed
    place, they had a REQUEST: a METHOD:CANCEL for the same UID, with a higher SEQUENCE,
    takes the event out of their calendar."""
    template = "registration_cancelled_by_organiser" if by_organiser else "registration_cancelled"
    _queue(
        registration,
        template,
        now,
        invitation="CANCEL" if previous_status == RegistrationStatus.CONFIRMED else None,
        reason=reason if by_organiser else "",
    )


# The outbox renderer of the messages about a registration (`render_registration_email`).
RENDERER = "registration"


def _queue(
    registration: Registration,
    template: str,
    now: datetime,
    *,
    invitation: str | None = None,
    rank: int | None = None,
    reason: str = "",
    ticket: bool = False,
) -> None:
    """Queue the facts of the message (`mail.queue_facts`): the sender writes it after
    this transaction has committed, outside the event's lock (`render_registration_email`).
    What the message must say as things stand now is stored (the status, the waiting-list
    rank, whether it carries the calendar invitation REQUEST or CANCEL, and the ticket);
    the rest (names, answers, the event's details) is read when it is written.
    `invitation`: "REQUEST" / "CANCEL" or None; `ticket`: the ticket, if it is valid.
    A confirmation still on the registration's row goes first (`queue_pending_notices`)."""
    if registration.pending_notice is not None:
        queue_pending_notices(ids=[registration.id])
    status = RegistrationStatus(registration.status)
    if rank is None and status == RegistrationStatus.WAITLISTED:
        rank = queries.waitlist_rank(registration)
    facts = _facts(
        template,
        status,
        now,
        invitation=invitation,
        rank=rank,
        reason=reason,
        ticket=ticket and tickets.has_valid_ticket(registration),
    )
    _queue_facts(registration.id, registration.user.email, registration.user.language, facts)


def _facts(
    template: str,
    status: RegistrationStatus,
    now: datetime,
    *,
    invitation: str | None,
    rank: int | None,
    reason: str,
    ticket: bool,
) -> dict[str, Any]:
    return {
        "template": template,
        "status": str(status),
        "rank": rank,
        "reason": reason,
        "invitation": invitation,
        "ticket": ticket,
        "now": now.isoformat(),
    }


def _queue_facts(
    registration_id: int,
    to: str,
    language: str,
    facts: dict[str, Any],
    *,
    due: datetime | None = None,
) -> int:
    return mail.queue_facts(
        to,
        RENDERER,
        {"registration_id": registration_id, **facts},
        language=language,
        category="registration",
        due=due,
    )


# --- the confirmation written with the registration ---------------------------------------------

CONFIRMATION = "registration_confirmation"


def confirmation_notice(
    status: RegistrationStatus, now: datetime, *, rank: int | None
) -> dict[str, Any]:
    """The facts of the confirmation a registration just made sends (what `notify` would
    queue), for its row's `pending_notice`: the INSERT carries its email, and the busiest
    request writes no outbox row under the event's lock. Only for a place that is not held
    (a held place is told nothing yet), of an event taking registrations (so not cancelled:
    a confirmed place's ticket is valid). `queue_pending_notices` moves it to the outbox."""
    parts = _place_parts(CONFIRMATION, status, held=False)
    valid_ticket = status == RegistrationStatus.CONFIRMED  # `tickets.has_valid_ticket`
    return _facts(
        CONFIRMATION,
        status,
        now,
        invitation=parts["invitation"],
        rank=rank,
        reason="",
        ticket=parts["ticket"] and valid_ticket,
    )


def notice_pending(registration_id: int) -> None:
    """Development sends the confirmation once the request has committed (`mail.
    pending_queued`); production's worker moves it to the outbox on its next round."""
    mail.pending_queued(RENDERER, registration_id)


def queue_pending_notices(
    *, limit: int | None = None, ids: Sequence[int] | None = None
) -> list[int]:
    """Move the confirmations written on their registrations (`pending_notice`) to the
    outbox, oldest first (at most `limit`; only those of the registrations `ids` if given), in
    the caller's transaction. Each is claimed by emptying the column, its row locked: a
    row another sender has claimed is skipped (or, for `ids`, a request's
    later message, waited for and then found empty), so each is queued once, and before
    any later message about its registration. Returns the outbox rows' ids."""
    table = Registration.__table__
    claim = (
        select(table.c.id, table.c.user_id, table.c.pending_notice)
        .where(table.c.pending_notice.is_not(None))
        .order_by(table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=ids is None)
    )
    if ids is not None:
        claim = claim.where(table.c.id.in_(ids))
    claimed = db.session.execute(claim).all()
    if not claimed:
        return []
    claimed_ids = [row.id for row in claimed]
    db.session.execute(
        update(table).where(table.c.id.in_(claimed_ids)).values(pending_notice=None),
        execution_options={"synchronize_session": False},
    )
    for registration_id in claimed_ids:
        kept = db.session.identity_map.get(identity_key(Registration, registration_id))
        if kept is not None:
            set_committed_value(kept, "pending_notice", None)
    people = {
        row.id: row
        for row in db.session.execute(
            select(User.id, User.email, User.language).where(
                User.id.in_({row.user_id for row in claimed})
            )
        )
    }
    queued = []
    for row in claimed:
        person = people[row.user_id]
        try:
            mail.check_recipient(person.email)
        except ValueError:
            # An address no message can be sent to (it was checked when the person registered:
            # changed since, by hand): dropped and said, so that it does not hold up the
            # others and the sender's every round after.
            log.warning(
                "Registration %s: no confirmation queued, %r is not an address to send to",
                row.id,
                person.email,
            )
            continue
        queued.append(
            _queue_facts(
                row.id,
                person.email,
                person.language,
                row.pending_notice,
                due=datetime.fromisoformat(row.pending_notice["now"]),  # since registering
            )
        )
    return queued


def count_pending_notices() -> int:
    """The confirmations still on their registrations (`flask outbox status`)."""
    table = Registration.__table__
    return int(
        db.session.scalar(
            select(func.count()).select_from(table).where(table.c.pending_notice.is_not(None))
        )
        or 0
    )


def render_registration_email(facts: dict[str, Any]) -> mail.Rendered:
    """Write a message `_queue` stored as facts (the sender calls this, in the language
    stored with the row). The ticket is left out if it is no longer valid."""
    registration = db.session.get(Registration, int(facts["registration_id"]))
    if registration is None:
        raise mail.RenderError(f"registration {facts['registration_id']} no longer exists")
    template = str(facts["template"])
    status = RegistrationStatus(facts["status"])
    now = datetime.fromisoformat(facts["now"])
    event = registration.event
    user = registration.user
    attachments: list[mail.Attachment] = []
    method = facts.get("invitation")
    if method:
        sequence = invitation_sequence(registration, cancel=method == "CANCEL")
        attachments.append(_invitation(registration, method, sequence, now))
    ticket = tickets.email_ticket(registration) if facts.get("ticket") else None
    message = mail.render_email(
        mail.deferred(_subject, template, event, status),
        template,
        language=user.language,
        has_invitation=bool(attachments),
        ticket=ticket,
        registration=registration,
        event=event,
        user=user,
        status=str(status),
        status_label=mail.deferred(status_label, status),
        rank=facts.get("rank"),
        answers=answers.answer_rows(registration),
        manage_url=manage_url(registration),
        event_url=event_url(event),
        cover=cover_for_email(event),
        dates=mail.deferred(templating.event_dates, event),
        times=mail.deferred(templating.event_times, event),
        join_url=rules.join_link(registration),
        reason=facts.get("reason") or "",
    )
    return mail.Rendered(message, [*attachments, ticket.image] if ticket else attachments)


mail.register_renderer(RENDERER, render_registration_email)
mail.register_pending(RENDERER, queue_pending_notices, count_pending_notices)


# Wide enough for an email's 600-pixel column on a high-density screen.
EMAIL_COVER_WIDTH = 800


def cover_for_email(event: Event) -> dict[str, Any] | None:
    """The event's cover as the email shows it (absolute JPEG address, size, alt), or None."""
    image = event.cover_image
    if image is None:
        return None
    variant = image.variant_for(EMAIL_COVER_WIDTH)
    return {
        "url": links.external_url("images.serve", name=variant["jpeg"]),
        "width": min(variant["width"], 600),
        "height": round(variant["height"] * min(variant["width"], 600) / variant["width"]),
        "alt": image.alt,
    }


# --- a place held until the address is confirmed -------------------------------------------


def notify_hold(registration: Registration, link: str, now: datetime, *, has_account: bool) -> None:
    """The one link that confirms the address and the held place and logs the person in:
    "confirm" for someone new, "continue" for an address that has an account."""
    event = registration.event
    title = event.title
    subject = (
        _l("Continue your registration: %(title)s", title=title)
        if has_account
        else _l("Confirm your email address to keep your place: %(title)s", title=title)
    )
    mail.queue_email(
        registration.user.email,
        subject,
        "registration_hold",
        language=registration.user.language,
        category="registration",
        has_account=has_account,
        user=registration.user,
        event=event,
        status=str(registration.status),
        link=link,
        until=mail.deferred(hold_deadline, registration),
        event_url=event_url(event),
        cover=cover_for_email(event),
        dates=mail.deferred(templating.event_dates, event),
        times=mail.deferred(templating.event_times, event),
    )


def notify_already_registered(registration: Registration, now: datetime) -> None:
    """Someone registered with the address of an account that has a registration for the
    event already: its owner hears so (the page said nothing about it)."""
    event = registration.event
    mail.queue_email(
        registration.user.email,
        _l("You are already registered: %(title)s", title=event.title),
        "registration_already",
        language=registration.user.language,
        category="registration",
        user=registration.user,
        event=event,
        status_label=mail.deferred(status_label, registration.status),
        login_url=links.external_url(
            "accounts.login",
            next=links.path_for("registration.detail", public_id=registration.public_id),
        ),
        event_url=event_url(event),
        cover=cover_for_email(event),
        dates=mail.deferred(templating.event_dates, event),
        times=mail.deferred(templating.event_times, event),
    )


def hold_deadline(registration: Registration) -> str:
    """Until when the place is held, in the event's zone, in words."""
    event = registration.event
    moment = registration.hold_expires_at
    return rules.local_moment(moment, event.timezone) if moment is not None else ""


# --- calendar updates: the event changed or was cancelled ---------------------------------


def registrant_attendee(registration: Registration, *, declined: bool = False) -> content.Attendee:
    """How a registrant appears in the invitations sent to them: their ATTENDEE line
    (RFC 5546 3.2.2: a REQUEST names its attendee), ACCEPTED while they hold a confirmed
    place (the only people invited), DECLINED in the CANCEL of their own registration."""
    return content.Attendee(
        email=registration.user.email,
        name=registration.user.name,
        partstat="DECLINED" if declined else "ACCEPTED",
    )


def _recipients(event: Event) -> list[tuple[Registration, int]]:
    """The active registrations, each with the number of earlier registrations of the same
    person for the event (for the SEQUENCE: see invitation_sequence). A person's active
    registration is their latest, so the earlier ones are all their others."""
    r = Registration
    per_person = dict(
        db.session.execute(
            select(r.user_id, func.count()).where(r.event_id == event.id).group_by(r.user_id)
        ).all()
    )
    stmt = queries.active_registrations_for_event(event).options(joinedload(Registration.user))
    return [
        (registration, per_person.get(registration.user_id, 1) - 1)
        for registration in db.session.scalars(stmt)
    ]


def _queue_calendar_update(
    event: Event,
    now: datetime,
    *,
    method: str,
    template: str,
    subject: LazyString,
    link_changed: bool = False,
) -> int:
    """Everyone active hears about the change; only confirmed places, the people who had
    a REQUEST, get the calendar (iTIP STATUS is the event's, so a waiting person's mail
    must not add the event to their calendar) and the online link (`link_changed`: the
    organiser changed it)."""
    base_url = current_app.config["BASE_URL"].rstrip("/")
    context = {
        "event": event,
        "event_url": content.event_url(event, base_url),
        "dates": mail.deferred(templating.event_dates, event),
        "times": mail.deferred(templating.event_times, event),
        "location": mail.deferred(content.event_location, event),
        "link_changed": link_changed,
    }
    recipients = _recipients(event)
    # A confirmation still on its registration goes out before the change it predates.
    unqueued = [r.id for r, _earlier in recipients if r.pending_notice is not None]
    if unqueued:
        queue_pending_notices(ids=unqueued)
    count = 0
    for registration, earlier in recipients:
        attachments = (
            [_invitation(registration, method, _sequence(event, earlier), now)]
            if registration.status == RegistrationStatus.CONFIRMED
            else []
        )
        mail.queue_email(
            registration.user.email,
            subject,
            template,
            language=registration.user.language,
            category="calendar",
            attachments=attachments,
            has_invitation=bool(attachments),
            user=registration.user,
            registration=registration,
            join_url=rules.join_link(registration),
            **context,
        )
        count += 1
    return count


def change_recipient_count(event: Event) -> int:
    """How many people notify_event_changed would email (the organiser is told before
    saving)."""
    stmt = queries.active_registrations_for_event(event).order_by(None)
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def notify_event_changed(event: Event, now: datetime, changes: frozenset[str] = frozenset()) -> int:
    """Email every active registrant the changed date, time or place; confirmed places
    with the event as METHOD:REQUEST (same UID, the raised SEQUENCE), so calendars move
    their copy, and the online link (said to be new when `changes` holds online_url).
    Returns the number of messages queued."""
    subject = _l("Changed: %(title)s", title=event.title)
    return _queue_calendar_update(
        event,
        now,
        method="REQUEST",
        template="event_updated",
        subject=subject,
        link_changed="online_url" in changes,
    )


def notify_event_cancelled(event: Event, now: datetime) -> int:
    """Email every active registrant that the event is cancelled; confirmed places with
    METHOD:CANCEL so calendars remove it. Call after events.services.cancel_event
    (registrations stay active until then, so they are the people to tell)."""
    subject = _l("Cancelled: %(title)s", title=event.title)
    return _queue_calendar_update(
        event, now, method="CANCEL", template="event_cancelled", subject=subject
    )
