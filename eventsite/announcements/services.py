"""Notify-me rules: subscribe with double opt-in, one-click unsubscribe, announce once."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from eventsite import database
from eventsite.accounts import tokens
from eventsite.accounts.services import normalise_email
from eventsite.announcements.models import (
    FIRST_PUBLICATION,
    Announcement,
    AnnouncementSubscriber,
)
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l
from eventsite.links import external_url
from eventsite.mail.services import queue_email


def unsubscribe_links(address: str, now: datetime) -> dict[str, str]:
    """The unsubscribe page linked in the text (it asks before acting: link checkers open
    every link in a message) and the RFC 8058 address a mail client POSTs to."""
    token = tokens.make_token(tokens.ANNOUNCE_UNSUBSCRIBE, {"email": address}, now)
    return {
        "unsubscribe_url": external_url("announcements.unsubscribe", token=token),
        "list_unsubscribe": external_url("announcements.unsubscribe_one_click", token=token),
    }


def subscribe(email: str, now: datetime, *, language: str) -> None:
    """Ask the address to confirm; the caller answers the same whatever happened here.

    A new address gets a row and a confirmation link; an unconfirmed one gets the link
    again; a confirmed one gets nothing (it is already on the list). `language`: the
    page's, which the messages to the address are written in (the latest asking wins).
    """
    address = normalise_email(email)
    database.lock_for_write()  # SQLite: the lookup decides the insert
    subscriber = db.session.scalar(
        select(AnnouncementSubscriber).where(AnnouncementSubscriber.email == address)
    )
    if subscriber is None:
        subscriber = AnnouncementSubscriber(email=address, created_at=now, language=language)
        try:
            with db.session.begin_nested():
                db.session.add(subscriber)
        except IntegrityError:
            return  # the same address, subscribed at the same moment: that request sends
    elif subscriber.is_confirmed:
        return
    subscriber.language = language
    token = tokens.make_token(tokens.ANNOUNCE_CONFIRM, {"email": address}, now)
    queue_email(
        address,
        _l("Confirm: tell me when %(site)s announces events", site=current_app.config["SITE_NAME"]),
        "announce_confirm",
        language=language,
        category="announce",
        confirm_url=external_url("announcements.confirm", token=token),
        **unsubscribe_links(address, now),
    )


def subscription_for_token(token: str, now: datetime) -> AnnouncementSubscriber:
    """The subscription a confirmation link is for (TokenError when the link is bad,
    expired, or its address left the list)."""
    payload = tokens.read_token(
        tokens.ANNOUNCE_CONFIRM, token, now, current_app.config["ANNOUNCE_CONFIRM_MAX_AGE"]
    )
    subscriber = db.session.scalar(
        select(AnnouncementSubscriber).where(
            AnnouncementSubscriber.email == str(payload.get("email", ""))
        )
    )
    if subscriber is None:
        raise tokens.TokenError(
            _("This address is no longer on the list; subscribe again from the home page.")
        )
    return subscriber


def confirm_subscription(token: str, now: datetime) -> AnnouncementSubscriber:
    subscriber = subscription_for_token(token, now)
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = now
        db.session.flush()
    return subscriber


def unsubscribe_address(token: str, now: datetime) -> str:
    """The address an unsubscribe token is for (TokenError when it is not one)."""
    payload = tokens.read_token(tokens.ANNOUNCE_UNSUBSCRIBE, token, now, max_age=None)
    return str(payload.get("email", ""))


def unsubscribe(token: str, now: datetime) -> str:
    """Remove the address in the token (no login; the link never expires). Idempotent."""
    address = unsubscribe_address(token, now)
    subscriber = db.session.scalar(
        select(AnnouncementSubscriber).where(AnnouncementSubscriber.email == address)
    )
    if subscriber is not None:
        db.session.delete(subscriber)
        db.session.flush()
    return address


def announce_first_publication(now: datetime) -> int:
    """Email every confirmed subscriber that events are out — once in the site's life.

    The guard is a row with a unique key, inserted in the caller's transaction together with
    the emails: a second call, or a concurrent one on another server, fails on the key and
    sends nothing; if the caller's transaction rolls back, so do the guard and the emails.
    Returns how many messages were queued.
    """
    guard = Announcement(key=FIRST_PUBLICATION, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(guard)
    except IntegrityError:
        return 0
    subscribers = db.session.scalars(
        select(AnnouncementSubscriber)
        .where(AnnouncementSubscriber.confirmed_at.is_not(None))
        .order_by(AnnouncementSubscriber.id)
    ).all()
    listing_url = external_url("events.listing")
    subject = _l("Events are now announced on %(site)s", site=current_app.config["SITE_NAME"])
    for subscriber in subscribers:
        queue_email(
            subscriber.email,
            subject,
            "announce_first_event",
            language=subscriber.language,
            category="announce",
            listing_url=listing_url,
            **unsubscribe_links(subscriber.email, now),
        )
    guard.recipient_count = len(subscribers)
    db.session.flush()
    return len(subscribers)
