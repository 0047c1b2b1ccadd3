"""The public read API, /api/v1/: the catalogue as the HTML pages show it, in JSON, with
CORS for any site, an ETag and a short public cache lifetime."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import abort
from sqlalchemy import func, select

from eventsite.api import schemas, serialise
from eventsite.api.core import Blueprint, ErrorSchema, paging, public_response, rate_limited
from eventsite.events import listing, queries
from eventsite.events.models import EventFormat, EventKind
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.organisations.models import Organisation
from eventsite.registration import queries as registration_queries
from eventsite.timeutil import utcnow

bp = Blueprint(
    "public_api",
    __name__,
    url_prefix="/api/v1",
    description="The public catalogue: no token, read only, open to any site (CORS).",
)


@bp.after_request
def _public_headers(response: Response) -> Response:
    if response.status_code == 200:
        return public_response(response)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/events", endpoint="events", methods=["GET"])
@bp.arguments(schemas.EventListArgs, location="query")
@bp.response(200, schemas.EventPageSchema)
@bp.alt_response(400, schema=ErrorSchema, description="A filter is not valid.")
@bp.alt_response(
    404, schema=ErrorSchema, description="A page past the end, or no such topic or organisation."
)
@rate_limited
def events(args: dict[str, Any]) -> dict[str, Any]:
    """Public events: the listing's filters, search and paging

    The same events, in the same order, as the HTML listing given the same query."""
    filters = listing.ListingFilters(
        topic=args.get("topic"),
        organisation=args.get("organisation"),
        kind=EventKind(args["kind"]) if args.get("kind") else None,
        format=EventFormat(args["format"]) if args.get("format") else None,
        country=args.get("country"),
        q=" ".join((args.get("q") or "").split()) or None,
        date_from=args.get("date_from"),
        date_to=args.get("date_to"),
    )
    known, _messages = listing.known_filters(filters)  # the page ignores them; this says so
    if known.topic != filters.topic:
        abort(404, message=_("There is no topic '%(slug)s'.", slug=listing.shorten(args["topic"])))
    if known.organisation != filters.organisation:
        abort(
            404,
            message=_(
                "There is no organisation '%(slug)s'.",
                slug=listing.shorten(args["organisation"]),
            ),
        )
    now = utcnow()
    period = listing.Period(args["when"])
    page = listing.paginate_events(
        lambda: listing.list_public_events(known, period=period, now=now),
        args["page"],
        args["per_page"],
        narrowed=not known.is_empty,
        total_key=listing.total_key(known, period, now),
    )
    query_args = known.query_args()
    if period == listing.Period.PAST:
        query_args["when"] = period.value
    numbers = paging("public_api.events", query_args, page.number, page.per_page, page.total)
    counts = registration_queries.count_places_by_event(page.items, now)
    return {**numbers, "items": [serialise.event_summary(e, counts[e.id], now) for e in page.items]}


@bp.route("/events/<slug>", endpoint="event", methods=["GET"])
@bp.response(200, schemas.EventDetailSchema)
@bp.alt_response(404, schema=ErrorSchema, description="No public event here.")
@rate_limited
def event(slug: str) -> dict[str, Any]:
    """One public event with its agenda, speakers, topics and places

    Never the online link: that is for the people registered, on their own pages."""
    event = queries.get_public_event_or_404(slug)
    now = utcnow()
    return serialise.event_detail(event, registration_queries.count_places(event, now), now)


@bp.route("/topics", endpoint="topics", methods=["GET"])
@bp.response(200, schemas.TopicListSchema)
@rate_limited
def topics() -> dict[str, Any]:
    """Every topic, by name"""
    return {"items": [serialise.topic(t) for t in listing.all_topics()]}


@bp.route("/organisations", endpoint="organisations", methods=["GET"])
@bp.arguments(schemas.PageArgs, location="query")
@bp.response(200, schemas.OrganisationPageSchema)
@bp.alt_response(400, schema=ErrorSchema, description="A paging value is not valid.")
@bp.alt_response(404, schema=ErrorSchema, description="A page past the end.")
@rate_limited
def organisations(args: dict[str, Any]) -> dict[str, Any]:
    """Organisations, by name"""
    number, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count(Organisation.id))) or 0
    numbers = paging("public_api.organisations", {}, number, per_page, total)
    rows = db.session.scalars(
        select(Organisation)
        .order_by(Organisation.name, Organisation.id)
        .limit(per_page)
        .offset((number - 1) * per_page)
    )
    return {**numbers, "items": [serialise.organisation(o) for o in rows]}
