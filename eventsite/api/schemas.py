"""The public API's shapes: query arguments in, JSON out. Field names are part of the API's
contract: add fields, never rename or remove them within /api/v1/."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from eventsite import input_rules
from eventsite.api.core import MAX_PER_PAGE
from eventsite.events.listing import MAX_PAGE, MAX_QUERY_LENGTH, MAX_SLUG_LENGTH, Period
from eventsite.events.models import EventFormat, EventKind, EventStatus
from eventsite.events.rules import MAX_YEAR, MIN_YEAR
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l

# A day from MIN_YEAR to MAX_YEAR (past them a date is a typo, and near 9999 arithmetic
# overflows), said in the document so that clients and fuzzers know it too.
DAY_PATTERN = r"^(19[0-9]{2}|2[01][0-9]{2}|2200)-[0-9]{2}-[0-9]{2}$"

# One line of printable text: PostgreSQL refuses NUL, and no filter needs a control character.
SINGLE_LINE = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error=_l("Use one line of plain text."))
# Text of several lines (a summary, a description): as the workspace's PlainText check,
# no control character but tab and line ends (input_rules, whose message it gives).
PLAIN_TEXT = validate.Regexp(
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$", error=input_rules.PLAIN_TEXT_MESSAGE
)
SLUG = validate.Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error=_l("Not a valid slug."))


def year_in_range(value: object) -> None:
    year = getattr(value, "year", None)
    if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(
            _("Use a year from %(first)d to %(last)d.", first=MIN_YEAR, last=MAX_YEAR)
        )


class PageArgs(Schema):
    page = fields.Integer(
        load_default=1,
        strict=False,
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": "Page number, from 1."},
    )
    per_page = fields.Integer(
        load_default=20,
        validate=validate.Range(min=1, max=MAX_PER_PAGE),
        metadata={"description": f"Items per page, 1 to {MAX_PER_PAGE}."},
    )


class EventListArgs(PageArgs):
    """The HTML listing's query string, refused rather than ignored when it is wrong."""

    q = fields.String(
        validate=[validate.Length(max=MAX_QUERY_LENGTH), SINGLE_LINE],
        metadata={"description": "Free text: every word must appear (title, place, speaker…)."},
    )
    topic = fields.String(
        validate=[validate.Length(min=1, max=MAX_SLUG_LENGTH), SLUG],
        metadata={"description": "A topic's slug."},
    )
    organisation = fields.String(
        validate=[validate.Length(min=1, max=MAX_SLUG_LENGTH), SLUG],
        metadata={"description": "An organisation's slug."},
    )
    kind = fields.String(validate=validate.OneOf([k.value for k in EventKind]))
    format = fields.String(validate=validate.OneOf([f.value for f in EventFormat]))
    country = fields.String(
        validate=validate.Regexp(r"^[A-Z]{2}$", error=_l("Use a two-letter country code.")),
        metadata={"description": "ISO 3166-1 alpha-2 code, upper case."},
    )
    date_from = fields.Date(
        data_key="from",
        validate=year_in_range,
        metadata={
            "description": "Events still running on or after this day (UTC).",
            "pattern": DAY_PATTERN,
        },
    )
    date_to = fields.Date(
        data_key="to",
        validate=year_in_range,
        metadata={
            "description": "Events starting on or before this day (UTC).",
            "pattern": DAY_PATTERN,
        },
    )
    when = fields.String(
        load_default=Period.UPCOMING.value,
        validate=validate.OneOf([p.value for p in Period]),
        metadata={"description": "Upcoming (soonest first) or past (latest first) events."},
    )

    @validates_schema
    def _dates_in_order(self, data: dict, **_kwargs: object) -> None:
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and last < first:
            raise ValidationError(_("'to' is before 'from'."), "to")


# --- responses -------------------------------------------------------------------------------


class TopicSchema(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    url = fields.Url(required=True, metadata={"description": "The topic's page."})


class OrganisationSchema(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    website = fields.String(required=True, allow_none=True)
    url = fields.Url(required=True, metadata={"description": "The organisation's page."})


class OrganisationRefSchema(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    url = fields.Url(required=True)


class TopicRefSchema(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)


class RegistrationStateSchema(Schema):
    state = fields.String(
        required=True,
        metadata={
            "description": "open, not_published, cancelled, ended, not_yet_open or closed.",
        },
    )
    is_open = fields.Boolean(
        required=True, metadata={"description": "Whether a registration is taken now."}
    )
    message = fields.String(required=True, metadata={"description": "What the page says."})
    capacity = fields.Integer(required=True, allow_none=True)
    places_left = fields.Integer(
        required=True, allow_none=True, metadata={"description": "null: no limit."}
    )
    confirmed = fields.Integer(required=True)
    pending = fields.Integer(required=True)
    waitlisted = fields.Integer(required=True)
    has_waiting_list = fields.Boolean(required=True)
    requires_approval = fields.Boolean(required=True)
    opens_at = fields.DateTime(required=True, allow_none=True)
    closes_at = fields.DateTime(required=True, allow_none=True)


class EventSummarySchema(Schema):
    slug = fields.String(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in EventKind]))
    format = fields.String(required=True, validate=validate.OneOf([f.value for f in EventFormat]))
    status = fields.String(
        required=True,
        validate=validate.OneOf([EventStatus.PUBLISHED.value, EventStatus.CANCELLED.value]),
    )
    summary = fields.String(required=True)
    starts_at = fields.DateTime(
        required=True, metadata={"description": "ISO 8601 in the event's zone, with offset."}
    )
    ends_at = fields.DateTime(required=True)
    timezone = fields.String(required=True, metadata={"description": "The IANA time zone."})
    is_all_day = fields.Boolean(required=True)
    venue_name = fields.String(required=True)
    venue_address = fields.String(required=True)
    city = fields.String(required=True)
    country = fields.String(required=True, allow_none=True)
    latitude = fields.Float(required=True, allow_none=True)
    longitude = fields.Float(required=True, allow_none=True)
    cancellation_reason = fields.String(required=True)
    organisation = fields.Nested(OrganisationRefSchema, required=True)
    topics = fields.List(fields.Nested(TopicRefSchema), required=True)
    registration = fields.Nested(RegistrationStateSchema, required=True)
    url = fields.Url(required=True, metadata={"description": "The event's page."})
    ics_url = fields.Url(required=True, metadata={"description": "The event as an .ics file."})
    api_url = fields.Url(required=True)


class SpeakerSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    affiliation = fields.String(required=True)
    country = fields.String(required=True, allow_none=True)
    honours = fields.String(required=True)
    bio = fields.String(required=True)


class AgendaSessionSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True)
    room = fields.String(required=True)
    description = fields.String(required=True)
    speaker_ids = fields.List(fields.Integer(), required=True)


class EventDetailSchema(EventSummarySchema):
    description = fields.String(required=True, metadata={"description": "Markdown."})
    agenda = fields.List(fields.Nested(AgendaSessionSchema), required=True)
    speakers = fields.List(fields.Nested(SpeakerSchema), required=True)


class PagingSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    next = fields.Url(required=True, allow_none=True)
    previous = fields.Url(required=True, allow_none=True)


class EventPageSchema(PagingSchema):
    items = fields.List(fields.Nested(EventSummarySchema), required=True)


class OrganisationPageSchema(PagingSchema):
    items = fields.List(fields.Nested(OrganisationSchema), required=True)


class TopicListSchema(Schema):
    items = fields.List(fields.Nested(TopicSchema), required=True)
