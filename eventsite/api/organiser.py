"""The organiser API, /api/v1/organiser/: one organisation's events and registrations for
the holder of a personal access token (Authorization: Bearer …). Every change goes through
the same services as the workspace, and into the same audit log, the token named."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import g, request, url_for
from flask_smorest import abort
from sqlalchemy import func, select

from eventsite import database
from eventsite.api import organiser_schemas as schemas
from eventsite.api import serialise
from eventsite.api.core import Blueprint, ErrorSchema, paging, rate_limited
from eventsite.errors import DomainError
from eventsite.events import services as event_services
from eventsite.events.models import Event
from eventsite.extensions import csrf, db
from eventsite.i18n import gettext as _
from eventsite.organisations import access_tokens
from eventsite.organiser import audit, registrants
from eventsite.registration import queries as registration_queries
from eventsite.registration import services as registration_services
from eventsite.registration import tickets
from eventsite.registration.models import Registration
from eventsite.timeutil import utcnow

bp = Blueprint(
    "organiser_api",
    __name__,
    url_prefix="/api/v1/organiser",
    description=(
        "One organisation's events and registrations, with a personal access token made in "
        "the workspace (Authorization: Bearer <token>). A read token may only GET."
    ),
)
# Authenticated by the token in a header, never by a cookie: no cross-site request can
# carry it, so there is no form token to check.
csrf.exempt(bp)

SECURITY = [{"bearerAuth": []}]
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="eventsite"'}
T = TypeVar("T")


@bp.before_request
def _authenticate() -> None:
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        abort(
            401,
            message=_("Send a personal access token: Authorization: Bearer <token>."),
            headers=CHALLENGE,
        )
    try:
        token = access_tokens.authenticate(secret.strip(), utcnow())
    except access_tokens.TokenError as err:
        abort(401, message=str(err), headers=CHALLENGE)
    db.session.commit()  # the last use, shown in the workspace, whatever the request does
    if request.method not in ("GET", "HEAD") and not token.may_write:
        abort(403, message=_("This token may only read; make a token with write access."))
    g.api_token = token
    event_id = (request.view_args or {}).get("event_id")
    if event_id is not None:
        # Before the body is read: another organisation's event is a 403 whatever is sent.
        g.api_event = db.get_or_404(Event, event_id)
        if g.api_event.organisation_id != token.organisation_id:
            abort(403, message=_("This token belongs to another organisation."))


def _token() -> access_tokens.AccessToken:
    return g.api_token


def _event(event_id: int) -> Event:
    """The event of the URL, found and checked before the view (`_authenticate`)."""
    event: Event = g.api_event
    return event


def _registration(event: Event, registration_id: int) -> Registration:
    registration = db.get_or_404(Registration, registration_id)
    if registration.event_id != event.id:
        abort(404)
    return registration


def _record(event: Event, action: str, now: datetime, **details: Any) -> None:
    """The workspace's audit log, with the token's maker as actor and the token named."""
    token = _token()
    audit.record(
        action,
        organisation_id=event.organisation_id,
        event_id=event.id,
        actor=token.created_by,
        now=now,
        token=token.name,
        **details,
    )


def _apply(change: Callable[[], T]) -> T:
    """Run a service; a rule's refusal is a 409 with its sentence, and nothing is kept."""
    try:
        return change()
    except DomainError as err:
        db.session.rollback()
        abort(409, message=str(err))


def _organiser_event(
    event: Event, now: datetime, counts: registration_queries.PlaceCounts | None = None
) -> dict[str, Any]:
    if counts is None:
        counts = registration_queries.count_places(event, now)
    return {
        **serialise.event_summary(event, counts, now),
        "id": event.id,
        "online_url": event.online_url,
        "api_url": url_for("organiser_api.event", event_id=event.id, _external=True),
    }


def _registration_json(registration: Registration, zone: str) -> dict[str, Any]:
    local = serialise.local_time
    return {
        "id": registration.id,
        "status": str(registration.status),
        "name": registration.user.name,
        "email": registration.user.email,
        "ticket_code": registration.ticket_code,
        "answers": [
            {
                "question_id": int(question_id),
                "label": answer.get("label", ""),
                "kind": answer.get("kind", ""),
                "value": answer.get("value"),
            }
            for question_id, answer in (registration.answers or {}).items()
        ],
        "created_at": local(registration.created_at, zone),
        "updated_at": local(registration.updated_at, zone),
        "cancelled_at": local(registration.cancelled_at, zone),
        "checked_in_at": local(registration.checked_in_at, zone),
    }


DOCUMENTED_ERRORS = {
    401: "No token, or one that is unknown, revoked or expired.",
    403: "A token of another organisation, or a read token writing.",
    404: "No such event or registration.",
}


def documented(*extra: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The errors every operation may answer, in the document."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        for code, text in {
            **DOCUMENTED_ERRORS,
            **{c: ERRORS[c] for c in extra},
        }.items():
            view = bp.alt_response(code, schema=ErrorSchema, description=text)(view)
        return bp.doc(security=SECURITY)(view)

    return decorate


ERRORS = {
    400: "A field is unknown or not valid.",
    409: "A rule said no; the message says which.",
    422: "A rule refused a field's value; `errors.json` names the field.",
}


# --- events ------------------------------------------------------------------------------


@bp.route("/events", endpoint="events", methods=["GET"])
@bp.arguments(schemas.OrganiserEventListArgs, location="query")
@bp.response(200, schemas.OrganiserEventPageSchema)
@documented(400)
@rate_limited
def events(args: dict[str, Any]) -> dict[str, Any]:
    """The organisation's events, drafts too, latest start first"""
    stmt = select(Event).where(Event.organisation_id == _token().organisation_id)
    if args.get("status"):
        stmt = stmt.where(Event.status == args["status"])
    number, per_page = args["page"], args["per_page"]
    total = db.session.scalar(stmt.with_only_columns(func.count(Event.id))) or 0
    query = {"status": args["status"]} if args.get("status") else {}
    page = paging("organiser_api.events", query, number, per_page, total)
    rows = db.session.scalars(
        stmt.order_by(Event.starts_at.desc(), Event.id.desc())
        .limit(per_page)
        .offset((number - 1) * per_page)
    ).all()
    now = utcnow()
    counts = registration_queries.count_places_by_event(rows, now)
    items = [_organiser_event(event, now, counts[event.id]) for event in rows]
    return {**page, "items": items}


@bp.route("/events/<int:event_id>", endpoint="event", methods=["GET"])
@bp.response(200, schemas.OrganiserEventSchema)
@documented()
@rate_limited
def event(event_id: int) -> dict[str, Any]:
    """One of the organisation's events"""
    return _organiser_event(_event(event_id), utcnow())


@bp.route("/events/<int:event_id>/publish", endpoint="publish_event", methods=["POST"])
@bp.response(200, schemas.OrganiserEventSchema)
@documented(409)
@rate_limited
def publish_event(event_id: int) -> dict[str, Any]:
    """Publish a draft: listed from now on"""
    event = _event(event_id)
    now = utcnow()
    _apply(lambda: event_services.publish_event(event, now))
    _record(event, "publish", now)
    db.session.commit()
    return _organiser_event(event, now)


@bp.route("/events/<int:event_id>/cancel", endpoint="cancel_event", methods=["POST"])
@bp.arguments(schemas.ReasonSchema)
@bp.response(200, schemas.OrganiserEventSchema)
@documented(400, 409)
@rate_limited
def cancel_event(body: dict[str, Any], event_id: int) -> dict[str, Any]:
    """Cancel a published event; the people registered are told why"""
    event = _event(event_id)
    now = utcnow()
    _apply(lambda: event_services.cancel_event(event, body["reason"], now))
    _record(event, "cancel", now, reason=event.cancellation_reason)
    db.session.commit()
    return _organiser_event(event, now)


# --- registrations -----------------------------------------------------------------------


@bp.route("/events/<int:event_id>/registrations", endpoint="registrations", methods=["GET"])
@bp.arguments(schemas.RegistrationListArgs, location="query")
@bp.response(200, schemas.RegistrationPageSchema)
@documented(400)
@rate_limited
def registrations(args: dict[str, Any], event_id: int) -> dict[str, Any]:
    """The event's registrations with their answers: filtered, searched, sorted, paged"""
    event = _event(event_id)
    filters = registrants.RegistrantFilters(
        status=args["status"], q=(args.get("q") or "").strip(), sort=args["sort"]
    )
    stmt = registrants.registrants(event, filters)
    number, per_page = args["page"], args["per_page"]
    total = (
        db.session.scalar(stmt.with_only_columns(func.count(Registration.id)).order_by(None)) or 0
    )
    page = paging(
        "organiser_api.registrations",
        {"event_id": str(event.id), **filters.query_args()},
        number,
        per_page,
        total,
    )
    rows = db.session.scalars(stmt.limit(per_page).offset((number - 1) * per_page)).all()
    return {**page, "items": [_registration_json(r, event.timezone) for r in rows]}


def _decide(
    event_id: int,
    registration_id: int,
    decide: Callable[[Registration, datetime], Any],
    log_as: str,
    **details: Any,
) -> dict[str, Any]:
    event = _event(event_id)
    database.lock_for_write()  # SQLite: hold the write lock before places are counted
    registration = _registration(event, registration_id)
    now = utcnow()
    result = _apply(lambda: decide(registration, now))
    changed = result if isinstance(result, Registration) else registration
    _record(event, log_as, now, registration=changed.id, email=changed.user.email, **details)
    db.session.commit()
    return _registration_json(changed, event.timezone)


REGISTRATION = "/events/<int:event_id>/registrations/<int:registration_id>"


@bp.route(f"{REGISTRATION}/approve", endpoint="approve_registration", methods=["POST"])
@bp.response(200, schemas.RegistrationSchema)
@documented(409)
@rate_limited
def approve_registration(event_id: int, registration_id: int) -> dict[str, Any]:
    """Approve a pending registration; the person is told"""
    return _decide(event_id, registration_id, registration_services.approve_registration, "approve")


@bp.route(f"{REGISTRATION}/cancel", endpoint="cancel_registration", methods=["POST"])
@bp.arguments(schemas.OptionalReasonSchema)
@bp.response(200, schemas.RegistrationSchema)
@documented(400, 409)
@rate_limited
def cancel_registration(
    body: dict[str, Any], event_id: int, registration_id: int
) -> dict[str, Any]:
    """Cancel a registration as the organiser; the person is told, a freed place promoted"""
    return _decide(
        event_id,
        registration_id,
        lambda registration, now: registration_services.cancel_registration(
            registration, now, by_organiser=True, reason=body["reason"].strip()
        ),
        "cancel_registration",
    )


@bp.route(f"{REGISTRATION}/reject", endpoint="reject_registration", methods=["POST"])
@bp.arguments(schemas.OptionalReasonSchema)
@bp.response(200, schemas.RegistrationSchema)
@documented(400, 409)
@rate_limited
def reject_registration(
    body: dict[str, Any], event_id: int, registration_id: int
) -> dict[str, Any]:
    """Decline a pending registration; the person is told, the place goes to the waiting list"""
    reason = body["reason"].strip()
    return _decide(
        event_id,
        registration_id,
        lambda registration, now: registration_services.reject_registration(
            registration, now, reason=reason
        ),
        "reject",
        reason=reason,
    )


@bp.route(f"{REGISTRATION}/check-in", endpoint="check_in_registration", methods=["POST"])
@bp.response(200, schemas.RegistrationSchema)
@documented(409)
@rate_limited
def check_in_registration(event_id: int, registration_id: int) -> dict[str, Any]:
    """Check a person in by their registration"""
    return _decide(event_id, registration_id, _check_in, "check_in")


@bp.route("/events/<int:event_id>/check-in", endpoint="check_in_ticket", methods=["POST"])
@bp.arguments(schemas.TicketSchema)
@bp.response(200, schemas.RegistrationSchema)
@documented(400, 409)
@rate_limited
def check_in_ticket(body: dict[str, Any], event_id: int) -> dict[str, Any]:
    """Check a person in by their ticket (the door app): a scanned QR value or typed code

    A ticket of another event, a forged one or one that lets nobody in (cancelled,
    waitlisted…) is a 409 saying why."""
    event = _event(event_id)
    registration = _apply(lambda: tickets.find_ticket(event, body["ticket"]))
    return _decide(event.id, registration.id, _check_in, "check_in")


def _check_in(registration: Registration, now: datetime) -> Registration:
    """Checked in by the token's maker: door mode and the registrants table name them."""
    return registration_services.check_in(registration, now, by=_token().created_by)


@bp.route(f"{REGISTRATION}/undo-check-in", endpoint="undo_check_in", methods=["POST"])
@bp.response(200, schemas.RegistrationSchema)
@documented(409)
@rate_limited
def undo_check_in(event_id: int, registration_id: int) -> dict[str, Any]:
    """Take back a check-in made by mistake (any age, as the registrants table may)"""
    return _decide(event_id, registration_id, registration_services.undo_check_in, "check_in_undo")
