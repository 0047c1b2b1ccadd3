"""The organiser API's shapes: an organisation's events (drafts too) and registrations."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from eventsite.api.schemas import SINGLE_LINE, EventSummarySchema, PageArgs, PagingSchema
from eventsite.events.models import EventStatus
from eventsite.organiser.registrants import SORTS, STATUS_FILTERS
from eventsite.registration.models import RegistrationStatus

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
