"""The organiser API's shapes: an organisation's events (drafts too) and registrations."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from eventsite import input_rules, timeutil
from eventsite.api.schemas import (
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


def _plain_text(value: str) -> None:
    if not input_rules.is_plain_text(value):
        raise ValidationError(str(input_rules.PLAIN_TEXT_MESSAGE))


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError(_("Give a value that is not only spaces."))


def _known_timezone(value: str) -> None:
    if value not in timeutil.timezone_names():
        raise ValidationError(_("Use an IANA time zone name, such as Europe/Paris."))


def _known_country(value: str | None) -> None:
    if value is not None and value not in COUNTRY_CODES:
        raise ValidationError(_("Use a two-letter country code, such as FR."))


def _moment(description: str, *, required: bool = False) -> fields.AwareDateTime:
    return fields.AwareDateTime(
        required=required,
        allow_none=not required,
        validate=year_in_range,
        metadata={"description": f"{description} {ISO_WITH_OFFSET}"},
    )


def _line(
    max_length: int, description: str = "", *, required: bool = False, filled: bool = False
) -> fields.String:
    """One line of text up to `max_length`; `filled`: not empty nor only spaces."""
    checks: list[Any] = [validate.Length(min=1 if filled else 0, max=max_length), SINGLE_LINE]
    return fields.String(
        required=required,
        validate=[*checks, _not_blank] if filled else checks,
        metadata={"description": description} if description else {},
    )


class EventWriteSchema(Schema):
    """The workspace's event form as JSON: the same lengths, single-line fields and bounds.
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
    summary = fields.String(validate=[validate.Length(max=500), _plain_text])
    description = fields.String(
        validate=[validate.Length(max=50_000), _plain_text], metadata={"description": "Markdown."}
    )
    timezone = fields.String(
        validate=[validate.Length(max=64), _known_timezone],
        metadata={"description": "The IANA zone the event's times are shown in (UTC if left out)."},
    )
    is_all_day = fields.Boolean()
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
        validate=_known_country,
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
        metadata={"description": "Required for online and hybrid events."},
    )
    capacity = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(0, MAX_CAPACITY),
        metadata={"description": "Places; null for no limit."},
    )
    registration_opens_at = _moment("When registration opens; null: at once.")
    registration_closes_at = _moment("When registration closes; null: when the event ends.")
    edit_deadline_at = _moment("Attendees may edit their answers until; null: until it closes.")
    has_waiting_list = fields.Boolean()
    requires_approval = fields.Boolean()
    confirmation_hold_hours = fields.Integer(
        strict=True, validate=validate.Range(MIN_HOLD_HOURS, MAX_HOLD_HOURS)
    )
    reminder_hours = fields.Integer(
        strict=True,
        validate=validate.Range(0, MAX_REMINDER_HOURS),
        metadata={"description": "Hours before the start registrants are reminded; 0: never."},
    )

    @validates_schema
    def _end_after_start(self, data: dict[str, Any], **_kwargs: object) -> None:
        starts, ends = data.get("starts_at"), data.get("ends_at")
        # An all-day event's days are checked once they are read in its zone.
        all_day = data.get("is_all_day")
        if starts is not None and ends is not None and ends <= starts and not all_day:
            raise ValidationError(_("The end must come after the start."), "ends_at")


class EventCreateSchema(EventWriteSchema):
    title = _line(200, required=True, filled=True)
    starts_at = _moment("The start.", required=True)
    ends_at = _moment("The end, after the start.", required=True)


class EventUpdateSchema(EventWriteSchema):
    """Only the fields sent change."""

    move_agenda = fields.Boolean(
        load_default=False,
        metadata={"description": "When the start changes, move every session by the same shift."},
    )
    notify = fields.Boolean(
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
    description = fields.String(validate=[validate.Length(max=20_000), _plain_text])

    @validates_schema
    def _end_after_start(self, data: dict[str, Any], **_kwargs: object) -> None:
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts is not None and ends is not None and ends <= starts:
            raise ValidationError(_("The end must come after the start."), "ends_at")


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
