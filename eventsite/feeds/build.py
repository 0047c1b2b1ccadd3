"""Building the feeds: their events (queries.py) as calendars (ical/), with each feed's name
and how each event appears in it."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select

from eventsite.accounts.models import User
from eventsite.events import listing
from eventsite.events.models import EventStatus, Topic
from eventsite.extensions import db
from eventsite.feeds import queries
from eventsite.i18n import gettext as _
from eventsite.ical import builders, content
from eventsite.organisations.models import Organisation
from eventsite.registration.models import Registration, RegistrationStatus


def _site_name() -> str:
    return str(current_app.config["SITE_NAME"])


def feed_name(filters: listing.ListingFilters) -> str:
    """ "eventsite: Climate · Conference · Switzerland" for the filters in use."""
    labels: list[str] = []
    if filters.topic:
        topic = db.session.scalar(select(Topic).where(Topic.slug == filters.topic))
        labels.append(topic.name if topic else filters.topic)
    if filters.organisation:
        organisation = db.session.scalar(
            select(Organisation).where(Organisation.slug == filters.organisation)
        )
        labels.append(organisation.name if organisation else filters.organisation)
    if filters.kind:
        labels.append(filters.kind.value.replace("_", " ").capitalize())
    if filters.format:
        labels.append(filters.format.value.replace("_", " ").capitalize())
    if filters.country:
        labels.append(content.country_names().get(filters.country, filters.country))
    if filters.q:
        labels.append(f"“{filters.q}”")
    if filters.date_from or filters.date_to:
        start = filters.date_from.isoformat() if filters.date_from else ""
        end = filters.date_to.isoformat() if filters.date_to else ""
        labels.append(f"{start}–{end}")
    if not labels:
        return _("%(site)s: all events", site=_site_name())
    return f"{_site_name()}: {' · '.join(labels)}"


def build_public_feed(filters: listing.ListingFilters, now: datetime) -> bytes:
    events = queries.load_events(queries.feed_events(filters, now))
    return builders.build_feed(events, name=feed_name(filters))


def build_personal_feed(user: User) -> bytes:
    rows = queries.load_feed_rows(queries.personal_events(user), Registration.status)
    events: list[content.FeedEvent] = []
    variants: dict[int, content.Variant] = {}
    for event, status in rows:
        events.append(event)
        confirmed = status == RegistrationStatus.CONFIRMED
        variants[event.id] = content.Variant(
            status="CONFIRMED" if confirmed else "TENTATIVE", show_online_url=confirmed
        )
    return builders.build_feed(
        events, name=_("%(site)s: my events", site=_site_name()), variants=variants, private=True
    )


def draft_variant() -> content.Variant:
    return content.Variant(
        status="TENTATIVE", summary_prefix=_("[Draft]") + " ", show_online_url=True
    )


def build_organisation_export(organisation: Organisation) -> bytes:
    events = queries.load_events(queries.organisation_events(organisation))
    drafts = draft_variant()
    members = content.Variant(show_online_url=True)
    variants = {e.id: drafts if e.status == EventStatus.DRAFT else members for e in events}
    return builders.build_feed(
        events,
        name=_("%(name)s: all events (private)", name=organisation.name),
        variants=variants,
        private=True,
    )
