"""The organiser API's shapes: an organisation's events (drafts too) and registrations."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from eventsite import timeutil
from eventsite.api.schemas import (
    DAY_PATTERN,
    PLAIN_TEXT,
    SINGLE_LINE,
    SLUG,
    EventSummarySchema,
    PageArgs,
    PagingSchema,
    year_in_range,
)
from eventsite.events.listing import MAX_SLUG_LENGTH
from eventsite.events.models import (
    MAX_CAPACITY,
    MAX_HOLD_HOURS,
    MAX_REMINDER_HOURS,
    MIN_HOLD_HOURS,
    EventFormat,
    EventKind,
    EventStatus,
)
from eventsite.events.services import SLUG_MAX
from eventsite.i18n import lazy_gettext as _l
from eventsite.organiser.registrants import SORTS, STATUS_FILTERS
from eventsite.registration.models import RegistrationStatus
from eventsite.templating import COUNTRY_CODES

MAX_REASON_LENGTH = 2000


class OrganiserEventSchema(EventSummarySchema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in EventStatus]))
    online_url = fields.String(
        required=True, allow_none=True, metadata={"description": "The online link."}
    )
    api_url = fields.Url(required=True)


class OrganiserEventListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf([s.value for s in EventStatus]))


class OrganiserEventPageSchema(PagingSchema):
    items = fields.List(fields.Nested(OrganiserEventSchema), required=True)


class RegistrationListArgs(PageArgs):
    status = fields.String(load_default="all", validate=validate.OneOf(STATUS_FILTERS))
    q = fields.String(
        validate=[validate.Length(max=100), SINGLE_LINE],
        metadata={"description": "Words in the name, email address or affiliation."},
    )
    sort = fields.String(load_default="registered", validate=validate.OneOf(list(SORTS)))


class AnswerSchema(Schema):
    question_id = fields.Integer(required=True)
    label = fields.String(required=True)
    kind = fields.String(required=True)
    value = fields.Raw(required=True, allow_none=True)


class RegistrationSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf([s.value for s in RegistrationStatus])
    )
    name = fields.String(required=True)
    email = fields.String(required=True)
    ticket_code = fields.String(required=True, allow_none=True)
    answers = fields.List(fields.Nested(AnswerSchema), required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    cancelled_at = fields.DateTime(required=True, allow_none=True)
    checked_in_at = fields.DateTime(required=True, allow_none=True)


class RegistrationPageSchema(PagingSchema):
    items = fields.List(fields.Nested(RegistrationSchema), required=True)


class ReasonSchema(Schema):
    reason = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=MAX_REASON_LENGTH)],
        metadata={"description": "Why: the people registered read it."},
    )


class OptionalReasonSchema(Schema):
    reason = fields.String(
        load_default="",
        validate=validate.Length(max=MAX_REASON_LENGTH),
        metadata={"description": "Why (optional): the person reads it."},
    )


class TicketSchema(Schema):
    ticket = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "The ticket's QR value or its short code, as scanned or typed."},
    )


# --- writing events and their agenda -------------------------------------------------------

ISO_WITH_OFFSET = "ISO 8601 with its UTC offset (2027-05-12T09:00:00+02:00)."
# What the web address check (marshmallow's URL, no top-level domain required) accepts,
# said in the document so that clients and fuzzers know it too; checked by the field.
WEB_ADDRESS = r"^https?://([a-z0-9]{1,63}\.)*[a-z0-9]{2,63}(:[0-9]{1,5})?(/[!-~]*)?$"
# The years the site works with (events.rules), said in the document as for a day.
MOMENT_PATTERN = DAY_PATTERN.removesuffix("$") + "T"


class WholeNumber(fields.Integer):
    """An integer as JSON Schema counts one: 40 and 40.0, never "40", true or 40.5."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=False, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        if isinstance(value, float) and not value.is_integer():  # 40.5, inf, nan
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Flag(fields.Boolean):
    """true or false, as JSON Schema counts a boolean: never 1, "yes" or "true"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def _moment(description: str, *, required: bool = False) -> fields.AwareDateTime:
    return fields.AwareDateTime(
        required=required,
        allow_none=not required,
        validate=year_in_range,
        metadata={"description": f"{description} {ISO_WITH_OFFSET}", "pattern": MOMENT_PATTERN},
    )


def _line(
    max_length: int, description: str = "", *, filled: bool = False, **kwargs: Any
) -> fields.String:
    """One line of text up to `max_length` (`filled`: not empty)."""
    return fields.String(
        validate=[validate.Length(min=1 if filled else 0, max=max_length), SINGLE_LINE],
        metadata={"description": description} if description else {},
        **kwargs,
    )


class EventWriteSchema(Schema):
    """The workspace's event form as JSON: the same lengths, single-line fields and bounds.
    What the document cannot say (an end after the start, a title not only spaces, topics
    that exist) the services check: a 422 naming the field.
    Times are aware ISO 8601 instants (any offset); `timezone` is the zone they are shown
    in. For an all-day event the days are the local dates of `starts_at` and `ends_at`
    in that zone (an end at local midnight ends the day before, as this API returns it)."""

    title = _line(200, filled=True)
    slug = _line(
        SLUG_MAX,
        "The end of the event's web address; made from the title when left out. "
        "It cannot change once the event is published.",
    )
    kind = fields.String(validate=validate.OneOf([k.value for k in EventKind]))
    summary = fields.String(validate=[validate.Length(max=500), PLAIN_TEXT])
    description = fields.String(
        validate=[validate.Length(max=50_000), PLAIN_TEXT], metadata={"description": "Markdown."}
    )
    timezone = fields.String(
        validate=validate.OneOf(
            timeutil.timezone_names(),
            error=_l("Use an IANA time zone name, such as Europe/Paris."),
        ),
        metadata={"description": "The IANA zone the event's times are shown in (UTC if left out)."},
    )
    is_all_day = Flag()
    starts_at = _moment("The start.")
    ends_at = _moment("The end, after the start.")
    topics = fields.List(
        fields.String(validate=[validate.Length(min=1, max=MAX_SLUG_LENGTH), SLUG]),
        validate=validate.Length(max=50),
        metadata={"description": "Topics by slug (GET /api/v1/topics); replaces the list."},
    )
    venue_name = _line(200)
    venue_address = _line(300)
    city = _line(120)
    country = fields.String(
        allow_none=True,
        validate=validate.OneOf(
            sorted(COUNTRY_CODES), error=_l("Use a two-letter country code, such as FR.")
        ),
        metadata={"description": "ISO 3166-1 alpha-2 code, upper case."},
    )
    latitude = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(-90, 90))
    longitude = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(-180, 180))
    format = fields.String(validate=validate.OneOf([f.value for f in EventFormat]))
    online_url = fields.Url(
        allow_none=True,
        require_tld=False,
        schemes={"http", "https"},
        validate=[validate.Length(max=500), SINGLE_LINE],
        metadata={"description": "Required for online and hybrid events.", "pattern": WEB_ADDRESS},
    )
    capacity = WholeNumber(
        allow_none=True,
        validate=validate.Range(0, MAX_CAPACITY),
        metadata={"description": "Places; null for no limit."},
    )
    registration_opens_at = _moment("When registration opens; null: at once.")
    registration_closes_at = _moment("When registration closes; null: when the event ends.")
    edit_deadline_at = _moment("Attendees may edit their answers until; null: until it closes.")
    has_waiting_list = Flag()
    requires_approval = Flag()
    confirmation_hold_hours = WholeNumber(validate=validate.Range(MIN_HOLD_HOURS, MAX_HOLD_HOURS))
    reminder_hours = WholeNumber(
        validate=validate.Range(0, MAX_REMINDER_HOURS),
        metadata={"description": "Hours before the start registrants are reminded; 0: never."},
    )


class EventCreateSchema(EventWriteSchema):
    title = _line(200, required=True, filled=True)
    starts_at = _moment("The start.", required=True)
    ends_at = _moment("The end, after the start.", required=True)


class EventUpdateSchema(EventWriteSchema):
    """Only the fields sent change."""

    move_agenda = Flag(
        load_default=False,
        metadata={"description": "When the start changes, move every session by the same shift."},
    )
    notify = Flag(
        load_default=True,
        metadata={
            "description": "Email registrants about the change (as the workspace does). "
            "false is refused for a change of time or place: they are always told."
        },
    )


class SessionWriteSchema(Schema):
    """An agenda session, as the workspace's session form."""

    title = _line(200, filled=True)
    starts_at = _moment("The start, within the event's dates.")
    ends_at = _moment("The end, after the start.")
    room = _line(120)
    description = fields.String(validate=[validate.Length(max=20_000), PLAIN_TEXT])


class SessionCreateSchema(SessionWriteSchema):
    title = _line(200, required=True, filled=True)
    starts_at = _moment("The start, within the event's dates.", required=True)
    ends_at = _moment("The end, after the start.", required=True)
    speakers = fields.List(
        _line(200, filled=True),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "New speakers by name, in order (as the workspace adds them)."},
    )


class SessionUpdateSchema(SessionWriteSchema):
    """Only the fields sent change."""


class OrganiserSessionSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True)
    room = fields.String(required=True)
    description = fields.String(required=True)
    speakers = fields.List(fields.String(), required=True, metadata={"description": "Names."})
