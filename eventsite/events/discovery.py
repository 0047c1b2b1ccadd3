"""What feed readers and search engines read: the Atom feed's entries, the sitemap's pages,
and the paths robots.txt keeps them out of."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import defer, joinedload
from werkzeug.routing import Map

from eventsite import database
from eventsite.events.listing import PUBLIC_STATUSES, public_events
from eventsite.events.models import Event, Organisation, Topic, event_topics
from eventsite.extensions import db

FEED_ENTRIES = 50
# One sitemap file holds at most 50,000 addresses (sitemaps.org); ours hold 5,000, so that
# each file (about 0.7 MB) stays small enough for the page cache to keep: a 50,000-address
# file was rendered again on every request (about 1 s at 100,000 events, `bench scale`).
SITEMAP_LIMIT = 5_000


def feed_events(limit: int = FEED_ENTRIES) -> list[Event]:
    """The public events most recently announced or changed, latest change first."""
    stmt = (
        public_events()
        .where(Event.published_at.is_not(None))
        .order_by(Event.updated_at.desc(), Event.id.desc())
        .options(defer(Event.search_text), joinedload(Event.organisation))
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def entry_id(event: Event, host: str) -> str:
    """A stable `tag:` URI (RFC 4151) for the event's feed entry: the site's host, the
    day it was announced and the event's id, so a new address (slug) or a change keeps it."""
    announced = event.published_at or event.created_at
    return f"tag:{host},{announced:%Y-%m-%d}:event-{event.id}"


@dataclass(frozen=True)
class SitemapPages:
    events: list[tuple[str, datetime]]  # slug, last change
    topics: list[str]  # slugs of topics with a public event
    organisations: list[str]  # slugs of organisations with a public event


# The home page, the listing and the month view: listed with the topics and organisations.
SITE_PAGES = 3


def _has_public_event(model: type[Topic] | type[Organisation]) -> ColumnElement[bool]:
    public = database.in_constants(Event.status, PUBLIC_STATUSES)
    if model is Topic:
        return (
            exists()
            .where(event_topics.c.topic_id == Topic.id)
            .where(Event.id == event_topics.c.event_id, public)
        )
    return exists().where(Event.organisation_id == Organisation.id, public)


def _public_slugs(model: type[Topic] | type[Organisation]) -> list[str]:
    stmt = select(model.slug).where(_has_public_event(model)).order_by(model.slug)
    return list(db.session.scalars(stmt))


def _public_event_pages(offset: int, limit: int) -> list[tuple[str, datetime]]:
    """Public events in the order they were created (a part keeps its events when later
    ones are added), reading only slugs and dates."""
    rows = db.session.execute(
        select(Event.slug, Event.updated_at)
        .where(database.in_constants(Event.status, PUBLIC_STATUSES))
        .order_by(Event.id)
        .offset(offset)
        .limit(limit)
    )
    return [(slug, updated_at) for slug, updated_at in rows]


def sitemap_parts() -> int:
    """How many files the sitemap needs: 1 while every public page fits in one (the
    sitemap is then that file), else a part for the site's own pages (home, listing,
    month view, topics, organisations) and one per SITEMAP_LIMIT events, under an index."""
    events, topics, organisations = db.session.execute(
        select(
            select(func.count(Event.id))
            .where(database.in_constants(Event.status, PUBLIC_STATUSES))
            .scalar_subquery(),
            select(func.count(Topic.id)).where(_has_public_event(Topic)).scalar_subquery(),
            select(func.count(Organisation.id))
            .where(_has_public_event(Organisation))
            .scalar_subquery(),
        )
    ).one()
    if events + SITE_PAGES + topics + organisations <= SITEMAP_LIMIT:
        return 1
    return 1 + math.ceil(events / SITEMAP_LIMIT)


def sitemap_pages(part: int | None = None) -> SitemapPages:
    """The public pages worth listing: public events (never drafts), and the topics and
    organisations that have at least one. `part` (of `sitemap_parts()` above one): 1 is
    the topics and organisations, each later part SITEMAP_LIMIT events."""
    if part is None:
        events = _public_event_pages(0, SITEMAP_LIMIT)
        return SitemapPages(events, _public_slugs(Topic), _public_slugs(Organisation))
    if part == 1:
        return SitemapPages([], _public_slugs(Topic), _public_slugs(Organisation))
    return SitemapPages(_public_event_pages((part - 2) * SITEMAP_LIMIT, SITEMAP_LIMIT), [], [])


def secret_paths(url_map: Map, extra: Iterable[str] = ()) -> list[str]:
    """The path prefixes robots.txt disallows: `extra`, and every address that carries a
    secret token (found in the routes, so a new one is covered), cut before the token."""
    prefixes = set(extra)
    for rule in url_map.iter_rules():
        if "token" not in rule.arguments:
            continue
        path = rule.rule.split("<token>", 1)[0]
        prefixes.add(path.split("<", 1)[0])
    return sorted(prefixes)
