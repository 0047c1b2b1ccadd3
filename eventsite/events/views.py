"""Public pages: home (coming soon or the listing), events, topics, organisations."""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import NotFound

from eventsite import catalogue, fragments, links, page_cache, templating
from eventsite.events import (
    cards,
    discovery,
    forms,
    labels,
    month,
    previews,
    queries,
    rules,
    structured_data,
)
from eventsite.events import listing as listings  # the view below is called `listing`
from eventsite.events.models import Topic
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.organisations.models import Organisation
from eventsite.timeutil import utcnow

bp = Blueprint("events", __name__)
# Every template may show an event card or its kind, not only this blueprint's.
bp.add_app_template_filter(labels.kind_label, "kind_label")
bp.add_app_template_global(labels.card_facts, "card_facts")
bp.add_app_template_global(cards.cached_cards, "cached_cards")
bp.add_app_template_filter(month.month_heading, "month_heading")

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
    # A member's preview of a draft is rendered for them alone: private, never kept (the
    # page cache's own request for it, as an anonymous visitor, is a 404).
    url = url_for("events.detail", slug=slug, _external=True)
    # What the page shows of the event is in kept pieces (detail.html, fragments.py): the
    # sessions and speakers (the agenda, the speakers, the JSON-LD, the calendar links), the
    # topics (the description's piece, the JSON-LD) and the organisation and pictures are
    # read only when a piece that shows them is not kept. The event's own row comes first,
    # with the catalogue's stamp that says which pieces are kept.
    try:
        event = queries.get_public_event_and_stamp_or_404(slug)
        is_preview = False
    except NotFound:
        if not current_user.is_authenticated:
            raise
        event = queries.get_draft_or_404(slug)
        if not rules.may_preview(current_user, event):
            raise
        is_preview = True
    if not is_preview:
        with_agenda = not all(
            fragments.is_kept(*parts)
            for parts in (
                ("agenda", slug),
                ("speakers", slug),
                ("meta", slug, url),
                ("actions", slug, url),
            )
        )
        with_topics = with_agenda or not fragments.is_kept("about", slug)
        # Its organisation and pictures: the header, and the meta tags (among the first four).
        with_organisation = with_agenda or not fragments.is_kept("event-head", slug)
        if with_agenda or with_topics or with_organisation:
            # The same event (the session's), with what the pieces to render show.
            event = queries.get_public_event_or_404(
                slug,
                with_agenda=with_agenda,
                with_topics=with_topics,
                with_organisation=with_organisation,
            )

    def link_preview() -> previews.LinkPreview:
        return previews.link_preview(cover=event.cover_image, logo=event.organisation.logo_image)

    def json_ld() -> dict[str, Any]:
        has_own_picture = event.cover_image or event.organisation.logo_image
        return structured_data.event_schema(
            event,
            url=url,
            organisation_url=url_for(
                "events.organisation", slug=event.organisation.slug, _external=True
            ),
            image_url=link_preview().url if has_own_picture else None,
        )

    response = make_response(
        render_template(
            "events/detail.html",
            event=event,
            is_preview=is_preview,
            # Called in the kept pieces that show them, when they are rendered.
            agenda=lambda: queries.agenda_by_day(event),
            speakers=lambda: queries.event_speakers(event),
            json_ld=json_ld,
            page_preview=link_preview,
            open_graph=lambda: structured_data.open_graph(
                event, url=url, site_name=current_app.config["SITE_NAME"]
            ),
            description=lambda: structured_data.event_description(event, 200),
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
    # The home page's form and tabs lead to the listing's own address.
    link_endpoint = "events.listing" if endpoint == "events.home" else endpoint
    # On a topic's or organisation's own page that choice is the path, not a filter.
    path_args: dict[str, str] = {"slug": topic.slug} if topic is not None else {}
    if organisation is not None:
        path_args["slug"] = organisation.slug
    form_action = _link(link_endpoint, path_args)

    # The query string is read once per process and language (forms.read_listing_query),
    # and the filter form drawn once per address, query string and language while the
    # catalogue stays the same (its choices): kept, the form is not even built.
    args = forms.query_args(request.args)
    query = forms.read_listing_query(args)
    filters, dropped = listings.known_filters(query.filters)
    messages = [*query.messages, *dropped]
    period, page_number = query.period, query.page_number
    form_key = tuple(item for item in args if item[0] != "page")  # the form shows no page
    if topic is not None:
        filters = dataclasses.replace(filters, topic=topic.slug)
    if organisation is not None:
        filters = dataclasses.replace(filters, organisation=organisation.slug)
    filter_args = filters.query_args()
    if topic is not None:
        filter_args.pop("topic", None)
    if organisation is not None:
        filter_args.pop("organisation", None)

    now = utcnow()
    page = listings.paginate_events(
        lambda: listings.list_public_events(filters, period=period, now=now),
        page_number,
        current_app.config["EVENTS_PER_PAGE"],
        narrowed=not filters.is_empty,
        total_key=listings.total_key(filters, period, now),
        kept_cards=True,
    )
    if page.is_past_end:
        messages.append(
            _(
                "There is no page %(number)d: the results end at page %(pages)d.",
                number=page.number,
                pages=page.pages,
            )
        )

    period_args = {"when": listings.Period.PAST.value} if period == listings.Period.PAST else {}

    # The pager's links: this address with the page last (one url_for, not one a link).
    here = _link(link_endpoint, path_args, filter_args, period_args)
    page_prefix = f"{here}{'&' if '?' in here else '?'}page="

    def shown_form() -> forms.ListingFilterForm:
        form = forms.ListingFilterForm(formdata=request.args)
        form.validate()
        form.show(
            filters,
            topics=listings.topic_choices() if topic is None else [],
            countries=listings.country_choices(filters.country),
            with_topic=topic is None,
        )
        return form

    return render_template(
        "events/listing.html",
        endpoint=endpoint,
        topic=topic,
        organisation=organisation,
        filters=filters,
        has_filters=bool(filter_args),
        period=period,
        page=page,
        # Built only where the form is not kept (listing.html).
        filter_form=shown_form,
        form_key=form_key,
        messages=messages,
        form_action=form_action,
        page_url=lambda n: f"{page_prefix}{n:d}",
        page_prefix=page_prefix,
        clear_url=_link(link_endpoint, path_args, period_args),
        upcoming_url=_link(link_endpoint, path_args, filter_args),
        past_url=_link(link_endpoint, path_args, filter_args, {"when": listings.Period.PAST}),
        feed_url=_feed_url(topic, organisation, filter_args),
        # Called where the piece that shows it is not kept (listing.html).
        page_preview=lambda: previews.link_preview(
            logo=organisation.logo_image if organisation else None
        ),
        calendar_url=_link("events.calendar", filters.query_args()),
    )


def _link(endpoint: str, *args: dict[str, str]) -> str:
    """`url_for(endpoint, **args...)`, built once per process for the same arguments (and
    script root): a listing links to itself with its filters seven ways."""
    values = tuple(item for part in args for item in part.items())
    return _built_link(request.script_root, endpoint, values)


@lru_cache(maxsize=2048)
def _built_link(_script_root: str, endpoint: str, values: tuple[tuple[str, str], ...]) -> str:
    return url_for(endpoint, **dict(values))


def _feed_url(
    topic: Topic | None, organisation: Organisation | None, filter_args: dict[str, str]
) -> str:
    """The calendar feed matching what the page lists."""
    if topic is not None:
        return _link("feeds.topic_feed", {"slug": topic.slug}, filter_args)
    if organisation is not None:
        return _link("feeds.organisation_feed", {"slug": organisation.slug}, filter_args)
    return _link("feeds.feed", filter_args)


# --- the month view --------------------------------------------------------------------------


@bp.get("/events/calendar")
@page_cache.cacheable
def calendar() -> tuple[str, int]:
    """The listing's events as a month grid (an agenda list on a phone), with the same
    filters. A month the calendar cannot show is a 400 that says why, over this month."""
    form = forms.ListingFilterForm(formdata=request.args)
    form.validate()
    filters, messages = listings.known_filters(form.filters())
    messages = form.messages() + messages
    today = utcnow().date()
    status = 200
    try:
        first = month.parse_month(request.args.get("month"), today)
    except month.BadMonth as err:
        messages.insert(0, str(err))
        first, status = today.replace(day=1), 400
    events, is_cut = month.events_in_month(filters, first)
    if is_cut:
        messages.append(
            _(
                "This month has more than %(count)d events: only the first %(count)d are "
                "shown. Filter to see the others.",
                count=month.MAX_EVENTS,
            )
        )
    filter_args = filters.query_args()
    form.show(
        filters,
        topics=listings.topic_choices(),
        countries=listings.country_choices(filters.country),
    )
    return render_template(
        "events/calendar.html",
        month_start=first,
        weeks=month.weeks(first, events),
        weekdays=month.weekday_names(),
        event_count=len(events),
        today=today,
        form=form,
        messages=messages,
        has_filters=bool(filter_args),
        month_arg=month.month_arg(first),
        form_action=url_for("events.calendar"),
        clear_url=url_for("events.calendar", month=month.month_arg(first)),
        previous_url=url_for(
            "events.calendar", **filter_args, month=month.month_arg(month.previous_month(first))
        ),
        next_url=url_for(
            "events.calendar", **filter_args, month=month.month_arg(month.next_month(first))
        ),
        this_month_url=url_for("events.calendar", **filter_args),
        listing_url=url_for("events.listing", **filter_args),
    ), status


# --- feed readers, search engines and phones -------------------------------------------------


@bp.get("/events/feed.atom")
@page_cache.cacheable
def atom_feed() -> Response:
    """Newly announced and changed events, latest change first (Atom, RFC 4287)."""
    events = discovery.feed_events()
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    stamp = catalogue.current(db.session)
    body = render_template(
        "events/feed.xml",
        events=events,
        entry_id=lambda event: discovery.entry_id(event, host),
        feed_id=f"tag:{host},2026:events",
        updated=max((event.updated_at for event in events), default=stamp.changed_at),
        self_url=links.external_url("events.atom_feed"),
        listing_url=links.external_url("events.listing"),
        event_url=lambda event: links.external_url("events.detail", slug=event.slug),
        summary=lambda event: event.summary or structured_data.event_description(event, 300),
    )
    return Response(body, mimetype="application/atom+xml")


@bp.get("/sitemap.xml")
@page_cache.cacheable
def sitemap() -> Response:
    """Every public page, with the catalogue's last change (an event's own, for its page);
    past the sitemap protocol's 50,000 addresses a file, an index of the parts."""
    changed_at = catalogue.current(db.session).changed_at
    parts = discovery.sitemap_parts()
    if parts > 1:
        body = render_template(
            "events/sitemap_index.xml",
            parts=[links.external_url("events.sitemap_part", part=n) for n in range(1, parts + 1)],
            changed_at=changed_at,
        )
    else:
        body = render_template(
            "events/sitemap.xml",
            pages=discovery.sitemap_pages(),
            changed_at=changed_at,
            url=links.external_url,
            with_site_pages=True,
        )
    return Response(body, mimetype="application/xml")


@bp.get("/sitemaps/<int:part>.xml")
@page_cache.cacheable
def sitemap_part(part: int) -> Response:
    """One part of a sitemap too big for one file: 1 is the site's own pages, topics and
    organisations, each later part the next 50,000 events. Not found while the sitemap
    is one file."""
    parts = discovery.sitemap_parts()
    if parts == 1 or not 1 <= part <= parts:
        raise NotFound
    body = render_template(
        "events/sitemap.xml",
        pages=discovery.sitemap_pages(part),
        changed_at=catalogue.current(db.session).changed_at,
        url=links.external_url,
        with_site_pages=part == 1,
    )
    return Response(body, mimetype="application/xml")


@bp.get("/robots.txt")
def robots() -> Response:
    disallowed = discovery.secret_paths(current_app.url_map, extra=["/manage/", "/account/"])
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in disallowed)]
    lines.append(f"Sitemap: {links.external_url('events.sitemap')}")
    return Response("\n".join(lines) + "\n", mimetype="text/plain")


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """What a phone needs to pin the site to its home screen."""
    icon = "icons/{}".format
    response = jsonify(
        {
            "name": current_app.config["SITE_NAME"],
            "short_name": current_app.config["SITE_NAME"],
            "description": templating.site_tagline(),
            "start_url": url_for("events.home"),
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#0b5cad",
            "icons": [
                {
                    "src": url_for("static", filename=icon("icon.svg")),
                    "type": "image/svg+xml",
                    "sizes": "any",
                },
                {
                    "src": url_for("static", filename=icon("icon-192.png")),
                    "type": "image/png",
                    "sizes": "192x192",
                },
                {
                    "src": url_for("static", filename=icon("icon-512.png")),
                    "type": "image/png",
                    "sizes": "512x512",
                },
                {
                    "src": url_for("static", filename=icon("icon-maskable-512.png")),
                    "type": "image/png",
                    "sizes": "512x512",
                    "purpose": "maskable",
                },
            ],
        }
    )
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page's <link rel=icon> says."""
    static = current_app.static_folder
    assert static is not None
    return send_from_directory(static, "icons/favicon.ico", mimetype="image/vnd.microsoft.icon")
