"""Feed versions: one query decides 304 / cache hit / build.

A feed's ETag hashes the catalogue version (eventsite/catalogue.py) and everything else its
bytes depend on, so a conditional GET costs one primary-key lookup whatever the feed's size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select

from eventsite import catalogue, database
from eventsite.accounts.models import User
from eventsite.events import listing
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.feeds.queries import window_day
from eventsite.i18n import gettext as _
from eventsite.ical import content
from eventsite.organisations.models import Organisation
from eventsite.registration.models import ACTIVE_STATUSES, Registration, RegistrationStatus

# Raise when the builders' output changes, so clients' stored ETags stop matching.
BUILD_GENERATION = "3"
# Last-Modified of a feed without events.
EMPTY_FEED_MODIFIED = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedVersion:
    etag: str  # strong, without quotes
    last_modified: datetime

    @property
    def http_etag(self) -> str:
        return f'"{self.etag}"'


def _version(
    kind: str, args: Iterable[Any], values: Iterable[Any], last_modified: datetime | None = None
) -> FeedVersion:
    """The ETag hashes everything the bytes depend on: the data's version, the feed's
    arguments, the settings and the language of the phrases (and of the feed's name)."""
    values = list(values)
    if last_modified is None:
        stamps = [v for v in values if isinstance(v, datetime)]
        last_modified = max(stamps) if stamps else EMPTY_FEED_MODIFIED
    settings = content.current_settings()
    material = repr(
        (
            BUILD_GENERATION,
            kind,
            tuple(args),
            values,
            settings,
            current_app.config.get("SITE_NAME"),
            _("Cancelled:"),
        )
    )
    digest = hashlib.sha256(material.encode()).hexdigest()[:32]
    return FeedVersion(etag=digest, last_modified=last_modified.astimezone(UTC))


def public_feed_version(filters: listing.ListingFilters, now: datetime) -> FeedVersion:
    """One primary-key lookup: the feed is a function of the catalogue version, the
    filters and the day (its window moves at UTC midnight). Last-Modified is the later of
    the catalogue's last change and that midnight."""
    stamp = catalogue.current(db.session)
    day = window_day(now)
    return _version(
        "public",
        sorted(filters.query_args().items()),
        (stamp.version, stamp.changed_at, day),
        last_modified=max(stamp.changed_at, day),
    )


def organisation_feed_version(organisation: Organisation) -> FeedVersion:
    """The organisation's events (drafts included) change only with the catalogue."""
    stamp = catalogue.current(db.session)
    return _version(
        "organisation-export",
        (organisation.id,),
        (stamp.version, stamp.changed_at),
        last_modified=stamp.changed_at,
    )


def personal_feed_version(user: User) -> FeedVersion:
    """The catalogue version and the user's registrations, in one query (the events'
    side is the catalogue's; registrations are read by the index on user_id)."""
    confirmed = case(
        (Registration.status == RegistrationStatus.CONFIRMED, Registration.id), else_=0
    )
    version, changed_at = catalogue.stamp_columns()
    row = db.session.execute(
        select(
            func.count(Registration.id),
            func.max(Registration.updated_at),
            func.coalesce(func.sum(Registration.id), 0),
            # a confirmation changes the feed even if a writer forgot updated_at
            func.coalesce(func.sum(confirmed), 0),
            version,
            changed_at,
        ).where(
            Registration.user_id == user.id,
            database.in_constants(Registration.status, ACTIVE_STATUSES),
        )
    ).one()
    count, registered_at, id_sum, confirmed_sum = row[:4]
    stamp = catalogue.to_stamp(*row[4:])
    last_modified = max(stamp.changed_at, registered_at or stamp.changed_at)
    values = (stamp.version, stamp.changed_at, count, registered_at, id_sum, confirmed_sum)
    return _version("personal", (user.id,), values, last_modified=last_modified)


def event_version(event: Event, with_sessions: bool) -> FeedVersion:
    """The single event's download: the event is loaded anyway, so no extra query."""
    values: list[Any] = [event.id, event.updated_at, event.revision, event.status]
    values += [event.organisation.name, tuple(t.name for t in event.topics)]
    if with_sessions:
        values += [(s.id, s.updated_at, tuple(x.name for x in s.speakers)) for s in event.sessions]
    return _version("event", (with_sessions,), values)


def event_feed_version(event: Event) -> FeedVersion:
    """The single event's feed: the download's data under its own name (other bytes)."""
    values: list[Any] = [event.id, event.updated_at, event.revision, event.status, event.title]
    values += [event.organisation.name, tuple(t.name for t in event.topics)]
    return _version("event-feed", (), values)
