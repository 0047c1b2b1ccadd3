"""Public pages: home (coming soon or the listing), events, topics, organisations."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, Response, current_app, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import NotFound

from eventsite import page_cache
from eventsite.events import forms, labels, queries, rules, structured_data
from eventsite.events import listing as listings  # the view below is called `listing`
from eventsite.events.models import Topic
from eventsite.organisations.models import Organisation
from eventsite.timeutil import utcnow

bp = Blueprint("events", __name__)
# Every template may show an event card or its kind, not only this blueprint's.
bp.add_app_template_filter(labels.kind_label, "kind_label")
bp.add_app_template_global(labels.card_facts, "card_facts")

# Pages marked @page_cache.cacheable are the same for every anonymous visitor while the
# catalogue (and, on the event page, its places left) stays the same: they are served from
# the page cache and sent public caching headers (eventsite/page_cache/).


@bp.get("/")
@page_cache.cacheable
def home() -> str:
    # One EXISTS per request: the page turns into the listing the moment an event is public.
    if not listings.has_public_events():
        return render_template("events/coming_soon.html")
    return _render_listing("events.home")


@bp.get("/events/")
@page_cache.cacheable
def listing() -> str:
    return _render_listing("events.listing")


@bp.get("/topics/<slug>")
@page_cache.cacheable
def topic(slug: str) -> str:
    topic = queries.get_topic_or_404(slug)
    return _render_listing("events.topic", topic=topic)


@bp.get("/organisations/<slug>")
@page_cache.cacheable
def organisation(slug: str) -> str:
    organisation = queries.get_organisation_or_404(slug)
    return _render_listing("events.organisation", organisation=organisation)


@bp.get("/events/<slug>")
@page_cache.cacheable
def detail(slug: str) -> Response:
    # Logged-in requests never reach the page cache (nor are stored in it), so a member's
    # preview of a draft is only ever theirs.
    try:
        event = queries.get_public_event_or_404(slug)
        is_preview = False
    except NotFound:
        if not current_user.is_authenticated:
            raise
        event = queries.get_draft_or_404(slug)
        if not rules.may_preview(current_user, event):
            raise
        is_preview = True
    url = url_for("events.detail", slug=event.slug, _external=True)
    organisation_url = url_for("events.organisation", slug=event.organisation.slug, _external=True)
    response = make_response(
        render_template(
            "events/detail.html",
            event=event,
            is_preview=is_preview,
            agenda=queries.agenda_by_day(event),
            speakers=queries.event_speakers(event),
            json_ld=structured_data.event_schema(event, url=url, organisation_url=organisation_url),
            open_graph=structured_data.open_graph(
                event, url=url, site_name=current_app.config["SITE_NAME"]
            ),
            description=structured_data.event_description(event, 200),
            canonical_url=url,
        )
    )
    if is_preview:
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Robots-Tag"] = "noindex"
    return response


def _render_listing(
    endpoint: str, *, topic: Topic | None = None, organisation: Organisation | None = None
) -> str:
    form = forms.ListingFilterForm(formdata=request.args)
    form.validate()
    filters, messages = listings.known_filters(form.filters())
    messages = form.messages() + messages
    period = form.period()

    # On a topic's or organisation's own page that choice is the path, not a filter.
    path_args: dict[str, str] = {}
    if topic is not None:
        filters = dataclasses.replace(filters, topic=topic.slug)
        path_args["slug"] = topic.slug
    if organisation is not None:
        filters = dataclasses.replace(filters, organisation=organisation.slug)
        path_args["slug"] = organisation.slug
    filter_args = filters.query_args()
    if topic is not None:
        filter_args.pop("topic", None)
    if organisation is not None:
        filter_args.pop("organisation", None)

    stmt = listings.list_public_events(filters, period=period, now=utcnow())
    page = listings.paginate_events(
        stmt,
        form.page_number(),
        current_app.config["EVENTS_PER_PAGE"],
        narrowed=not filters.is_empty,
    )
    if page.is_past_end:
        messages.append(
            _(
                "There is no page %(number)d: the results end at page %(pages)d.",
                number=page.number,
                pages=page.pages,
            )
        )

    # The home page's form and tabs lead to the listing's own address.
    link_endpoint = "events.listing" if endpoint == "events.home" else endpoint
    period_args = {"when": listings.Period.PAST.value} if period == listings.Period.PAST else {}

    def link(**extra: Any) -> str:
        return url_for(link_endpoint, **path_args, **filter_args, **period_args, **extra)

    form.show(
        filters,
        topics=listings.all_topics() if topic is None else [],
        countries=listings.public_countries(),
        with_topic=topic is None,
    )
    return render_template(
        "events/listing.html",
        endpoint=endpoint,
        topic=topic,
        organisation=organisation,
        filters=filters,
        has_filters=bool(filter_args),
        period=period,
        page=page,
        form=form,
        messages=messages,
        form_action=url_for(link_endpoint, **path_args),
        page_url=lambda n: link(page=n),
        clear_url=url_for(link_endpoint, **path_args, **period_args),
        upcoming_url=url_for(link_endpoint, **path_args, **filter_args),
        past_url=url_for(
            link_endpoint, **path_args, **filter_args, when=listings.Period.PAST.value
        ),
        feed_url=_feed_url(topic, organisation, filter_args),
    )


def _feed_url(
    topic: Topic | None, organisation: Organisation | None, filter_args: dict[str, str]
) -> str:
    """The calendar feed matching what the page lists."""
    if topic is not None:
        return url_for("feeds.topic_feed", slug=topic.slug, **filter_args)
    if organisation is not None:
        return url_for("feeds.organisation_feed", slug=organisation.slug, **filter_args)
    return url_for("feeds.feed", **filter_args)
