"""Sharing rules: which events can be shared, how often, and the fixed message itself."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from eventsite import database, i18n
from eventsite.accounts.models import User
from eventsite.accounts.services import normalise_email
from eventsite.errors import DomainError
from eventsite.events import queries as events_queries
from eventsite.events.models import Event, EventStatus
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l
from eventsite.links import external_url
from eventsite.mail.services import queue_email
from eventsite.sharing.models import EventShare

SHAREABLE_STATUSES = (EventStatus.PUBLISHED, EventStatus.CANCELLED)


class ShareError(DomainError):
    """Sharing refused (too many messages to one address, ...)."""


def get_shareable_event_or_404(slug: str) -> Event:
    if not events_queries.usable_slug(slug):
        raise NotFound()
    event = db.session.scalar(
        select(Event).where(
            Event.slug == slug, database.in_constants(Event.status, SHAREABLE_STATUSES)
        )
    )
    if event is None:
        raise NotFound()
    return event


def recipient_digest(address: str) -> str:
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hashlib.blake2b(address.encode("utf-8"), key=key[:64], digest_size=32).hexdigest()


def event_url(event: Event) -> str:
    return external_url("events.detail", slug=event.slug)


def share_event(
    event: Event,
    *,
    to: str,
    sender_name: str,
    note: str,
    sender: User | None,
    now: datetime,
) -> EventShare:
    """Queue the fixed "a friend suggests this event" message to one address.

    What the visitor typed only ever reaches the body, as plain text: the subject is ours,
    the From is the site's, the recipient is one validated address.
    """
    address = normalise_email(to)
    digest = recipient_digest(address)
    since = now - timedelta(days=1)
    recent = db.session.scalar(
        select(func.count())
        .select_from(EventShare)
        .where(EventShare.recipient_digest == digest, EventShare.created_at > since)
    )
    if recent >= current_app.config["SHARE_MAX_PER_RECIPIENT_PER_DAY"]:
        raise ShareError(
            _("This address has received enough suggestions today; please try tomorrow."),
            field="email",
        )
    share = EventShare(
        event_id=event.id,
        recipient_digest=digest,
        sender_user_id=sender.id if sender is not None else None,
        created_at=now,
    )
    db.session.add(share)
    queue_email(
        address,
        _l("An event you might like: %(title)s", title=event.title),
        "share_event",
        language=i18n.current_code(),  # the sender's: they wrote the note in it
        category="share",
        event=event,
        event_link=event_url(event),
        sender_name=" ".join(sender_name.split()),
        note=(note or "").strip(),
    )
    db.session.flush()
    return share
