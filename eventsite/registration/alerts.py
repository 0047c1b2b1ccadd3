""" "Tell me when registration opens": subscribing (a logged-in person at once, a visitor
after confirming the address by an emailed link), unsubscribing by the link in every
message, and the job that emails each subscriber once when the event's registration opens.

Kept in registration rather than announcements: it is about one event's registration
window (registration/rules.py decides when it opens) and ends in the Register button.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from eventsite import database, links, templating
from eventsite.accounts import tokens
from eventsite.accounts.models import User
from eventsite.accounts.services import normalise_email
from eventsite.events.models import Event, EventStatus
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l
from eventsite.mail import services as mail
from eventsite.registration import rules
from eventsite.registration.models import OpeningAlert

CONFIRM = "registration-alert-confirm"
UNSUBSCRIBE = "registration-alert-unsubscribe"
# Subscribers emailed per transaction by the job.
ALERT_BATCH = 100


def may_subscribe(event: Event, now: datetime) -> bool:
    """Only while the event's registration has yet to open."""
    return rules.window(event, now).state == rules.WindowState.NOT_YET_OPEN


def _refuse_unless_possible(event: Event, now: datetime) -> None:
    if not may_subscribe(event, now):
        raise rules.RegistrationError(
            _("Registration for this event is not waiting to open: there is nothing to wait for.")
        )


def _find(event: Event, address: str) -> OpeningAlert | None:
    return db.session.scalar(
        select(OpeningAlert).where(OpeningAlert.event_id == event.id, OpeningAlert.email == address)
    )


def _insert(alert: OpeningAlert) -> bool:
    """Add the row; False when the same address was added at the same moment."""
    try:
        with db.session.begin_nested():
            db.session.add(alert)
    except IntegrityError:
        return False
    return True


def subscribe_user(user: User, event: Event, now: datetime) -> OpeningAlert | None:
    """A logged-in person: on the list at once (their address is confirmed by their account;
    a visitor's row for the same address is confirmed and becomes theirs)."""
    _refuse_unless_possible(event, now)
    address = normalise_email(user.email)
    database.lock_for_write()
    alert = _find(event, address)
    if alert is None:
        alert = OpeningAlert(
            event_id=event.id,
            email=address,
            user_id=user.id,
            created_at=now,
            confirmed_at=now,
            language=user.language,
        )
        return alert if _insert(alert) else _find(event, address)
    alert.user_id = user.id
    alert.language = user.language
    alert.confirmed_at = alert.confirmed_at or now
    db.session.flush()
    return alert


def subscribe_visitor(email: str, event: Event, now: datetime, *, language: str) -> None:
    """Email the address a confirmation link; the caller answers the same whatever happened
    (a confirmed address gets nothing more, an unconfirmed one the link again). `language`:
    the page's, which the messages are written in."""
    _refuse_unless_possible(event, now)
    address = normalise_email(email)
    database.lock_for_write()
    alert = _find(event, address)
    if alert is None:
        new = OpeningAlert(event_id=event.id, email=address, created_at=now, language=language)
        if not _insert(new):
            return  # the same address at the same moment: that request sends the link
    elif alert.is_confirmed:
        return
    else:
        alert.language = language
    token = tokens.make_token(CONFIRM, {"event": event.id, "email": address}, now)
    mail.queue_email(
        address,
        _l("Confirm: tell me when registration opens for %(title)s", title=event.title),
        "registration_alert_confirm",
        language=language,
        category="alert",
        event=event,
        event_url=links.external_url("events.detail", slug=event.slug),
        opens=mail.deferred(rules.local_moment, event.registration_opens_at, event.timezone),
        confirm_url=links.external_url("registration.alert_confirm", token=token),
        **_unsubscribe_links(event, address, now),
    )


def _unsubscribe_links(event: Event, address: str, now: datetime) -> dict[str, str]:
    token = tokens.make_token(UNSUBSCRIBE, {"event": event.id, "email": address}, now)
    return {
        "unsubscribe_url": links.external_url("registration.alert_unsubscribe", token=token),
        "list_unsubscribe": links.external_url(
            "registration.alert_unsubscribe_one_click", token=token
        ),
    }


def _read(salt: str, token: str, now: datetime, max_age: int | None) -> tuple[int, str]:
    payload = tokens.read_token(salt, token, now, max_age)
    event_id, address = payload.get("event"), payload.get("email")
    if not isinstance(event_id, int) or not isinstance(address, str):
        raise tokens.TokenError(_("This link is not valid."))
    return event_id, address


def alert_for_confirmation(token: str, now: datetime) -> OpeningAlert:
    """The alert a confirmation link is for (TokenError when the link is bad, expired, or
    the address left the list)."""
    max_age = current_app.config["ANNOUNCE_CONFIRM_MAX_AGE"]
    event_id, address = _read(CONFIRM, token, now, max_age)
    alert = db.session.scalar(
        select(OpeningAlert)
        .options(joinedload(OpeningAlert.event))
        .where(OpeningAlert.event_id == event_id, OpeningAlert.email == address)
    )
    if alert is None:
        raise tokens.TokenError(
            _("This address is no longer on the list; ask again on the event's page.")
        )
    return alert


def confirm(token: str, now: datetime) -> OpeningAlert:
    alert = alert_for_confirmation(token, now)
    if alert.confirmed_at is None:
        alert.confirmed_at = now
        db.session.flush()
    return alert


def unsubscribe_target(token: str, now: datetime) -> tuple[Event | None, str]:
    """The event and address an unsubscribe link is for (TokenError when it is not one)."""
    event_id, address = _read(UNSUBSCRIBE, token, now, max_age=None)
    return db.session.get(Event, event_id), address


def unsubscribe(token: str, now: datetime) -> str:
    """Take the address off the event's list (no login; the link never expires); idempotent."""
    event_id, address = _read(UNSUBSCRIBE, token, now, max_age=None)
    alert = db.session.scalar(
        select(OpeningAlert).where(OpeningAlert.event_id == event_id, OpeningAlert.email == address)
    )
    if alert is not None:
        db.session.delete(alert)
        db.session.flush()
    return address


# --- the job ---------------------------------------------------------------------------------


def send_opening_alerts(now: datetime) -> int:
    """Email every confirmed subscriber of each published event whose registration has
    opened (and not closed or ended) that it is open, once; returns how many were queued.

    A batch claims its rows by setting `sent_at` only where it is still empty (UPDATE ...
    RETURNING, in the transaction that queues the emails): a second worker's UPDATE of the
    same rows waits for the first to commit and then finds nothing left to claim."""
    event_ids = list(
        db.session.scalars(
            select(OpeningAlert.event_id)
            .join(Event, Event.id == OpeningAlert.event_id)
            .where(
                OpeningAlert.sent_at.is_(None),
                OpeningAlert.confirmed_at.is_not(None),
                Event.status == EventStatus.PUBLISHED,
                Event.registration_opens_at <= now,
            )
            .distinct()
        )
    )
    db.session.rollback()
    queued = 0
    for event_id in event_ids:
        while (count := _alert_batch(event_id, now)) is not None:
            queued += count
    return queued


def _alert_batch(event_id: int, now: datetime) -> int | None:
    database.lock_for_write()
    event = db.session.get(Event, event_id)
    if event is None or not rules.window(event, now).is_open:
        db.session.rollback()
        return None  # cancelled, closed again or over: nothing to announce
    ids = list(
        db.session.scalars(
            select(OpeningAlert.id)
            .where(
                OpeningAlert.event_id == event_id,
                OpeningAlert.sent_at.is_(None),
                OpeningAlert.confirmed_at.is_not(None),
            )
            .order_by(OpeningAlert.id)
            .limit(ALERT_BATCH)
        )
    )
    if not ids:
        db.session.rollback()
        return None
    claimed = db.session.execute(
        update(OpeningAlert)
        .where(OpeningAlert.id.in_(ids), OpeningAlert.sent_at.is_(None))
        .values(sent_at=now)
        .returning(OpeningAlert.email, OpeningAlert.language)
    ).all()
    subject = _l("Registration is open: %(title)s", title=event.title)
    context = {
        "event": event,
        "event_url": links.external_url("events.detail", slug=event.slug),
        "register_url": links.external_url("registration.register", slug=event.slug),
        "dates": mail.deferred(templating.event_dates, event),
        "times": mail.deferred(templating.event_times, event),
    }
    for address, language in claimed:
        links_for = _unsubscribe_links(event, address, now)
        mail.queue_email(
            address,
            subject,
            "registration_alert_open",
            language=language,
            category="alert",
            list_unsubscribe=links_for["list_unsubscribe"],
            unsubscribe_url=links_for["unsubscribe_url"],
            **context,
        )
    db.session.commit()
    return len(claimed)
