"""What feed readers and search engines read: the Atom feed's entries, the sitemap's pages,
and the paths robots.txt keeps them out of."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import defer, joinedload
from werkzeug.routing import Map

from eventsite.events.listing import PUBLIC_STATUSES, public_events
from eventsite.events.models import Event, Organisation, Topic, event_topics
from eventsite.extensions import db

FEED_ENTRIES = 50
# One sitemap file holds at most 50,000 addresses (sitemaps.org).
SITEMAP_LIMIT = 50_000


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


def sitemap_pages() -> SitemapPages:
    """The public pages worth listing: public events (never drafts), and the topics and
    organisations that have at least one. Three queries, reading only slugs and dates."""
    events = db.session.execute(
        select(Event.slug, Event.updated_at)
        .where(Event.status.in_(PUBLIC_STATUSES))
        .order_by(Event.starts_at.desc(), Event.id.desc())
        .limit(SITEMAP_LIMIT)
    ).all()
    public = Event.status.in_(PUBLIC_STATUSES)
    topics = db.session.scalars(
        select(Topic.slug)
        .where(
            exists()
            .where(event_topics.c.topic_id == Topic.id)
            .where(Event.id == event_topics.c.event_id, public)
        )
        .order_by(Topic.slug)
    ).all()
    organisations = db.session.scalars(
        select(Organisation.slug)
        .where(exists().where(Event.organisation_id == Organisation.id, public))
        .order_by(Organisation.slug)
    ).all()
    return SitemapPages(
        events=[(slug, updated_at) for slug, updated_at in events],
        topics=list(topics),
        organisations=list(organisations),
    )


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
